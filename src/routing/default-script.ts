/**
 * The default routing script: what a fresh sipline does, written with the same API a user's own
 * script uses. Copy this file, edit it, and start the server with `--script your-file.ts`.
 *
 * In order:
 *  1. in-dialog requests follow the route set we Record-Routed (loose routing);
 *  2. OPTIONS to the server itself is answered here (keep-alives, monitoring);
 *  3. REGISTER for a served domain is digest-authenticated, then saved in the location service;
 *  4. every other request from a local user (a From of a served domain) is authenticated (407)
 *     before it goes anywhere, unless it comes from a trusted peer (security.trusted_peers,
 *     `sipline peer add`); an INVITE then counts against security.max_calls_per_user;
 *  4a. PUBLISH, and SUBSCRIBE to the presence (or presence.winfo) of a local user, go to the
 *     presence server (ctx.handlePublish(), ctx.handleSubscribe()); so do in-dialog SUBSCRIBEs
 *     sent to our own Contact (step 1);
 *  5. requests to a served domain go to the user's registered contacts, in parallel for equal q
 *     values, by q value otherwise; a user who cannot be reached gets 404, whether unknown or
 *     without a binding, unless the caller is one of ours (then 404 unknown, 480 not registered);
 *  5a. a MESSAGE (RFC 3428) goes to every contact at once whatever their q, within the size limits
 *     (413: messaging.max_body, and messaging.max_udp_body for contacts reachable over UDP only);
 *     one from our users or trusted peers for a user of ours who is offline is stored and
 *     delivered when the user registers (202, ctx.storeOffline());
 *  6. requests to other domains are relayed only for authenticated local users and trusted
 *     peers: no open relay.
 *
 * Nothing here tells a scanner (sipvicious svwar) which users exist: REGISTER and requests
 * claiming a local sender get the same challenge for every user, and the same 401/407 after
 * wrong credentials (authenticate() also blocks password guessers, security.auth_failures).
 */
import type { RequestContext, RoutingScript } from './index.ts';

async function onRequest(ctx: RequestContext): Promise<void> {
  const method = ctx.method;

  // 1. Within a dialog: a request that followed our Record-Route goes on to its Request-URI.
  // A SUBSCRIBE sent to our own Contact refreshes or ends a subscription this server serves as
  // notifier (RFC 6665 §4.1.2.2): the presence server answers it (481 when it knows none).
  if (ctx.inDialog) {
    if (method === 'SUBSCRIBE' && (await ctx.handleSubscribe())) return;
    if (ctx.looseRouted) {
      ctx.relay();
      return;
    }
    ctx.reply(404);
    return;
  }

  // 2. The server itself.
  if (ctx.isForUs && method === 'OPTIONS') {
    ctx.reply(200, { headers: [['Allow', 'INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, MESSAGE, SUBSCRIBE, NOTIFY, PUBLISH, REFER, INFO, UPDATE, PRACK']] });
    return;
  }

  // 3. Registrar.
  if (method === 'REGISTER') {
    if (ctx.targetDomain === undefined) {
      ctx.reply(403, { reason: 'Domain Not Served' });
      return;
    }
    if (!(await ctx.authenticate('www'))) return;
    ctx.save();
    return;
  }

  // 4. Local senders prove who they are (a carrier trunk or gateway that is a trusted peer need
  // not); a request that only claims a local user would otherwise reach, and reveal, its targets.
  const trusted = ctx.isTrusted();
  if (ctx.fromDomain !== undefined && !trusted) {
    if (!(await ctx.authenticate('proxy'))) return;
    if (!ctx.limitCalls()) return;
  }

  // 4a. Presence (SIMPLE): PUBLISH, and SUBSCRIBE for the presence or watcher information of a
  // local user, are served here (RFC 3903, RFC 6665); other event packages (message-summary for
  // voicemail lamps, RFC 3842) go on to the user's devices like any other request.
  if (method === 'PUBLISH' && (await ctx.handlePublish())) return;
  if (method === 'SUBSCRIBE' && (await ctx.handleSubscribe())) return;

  // 5a. Pager-mode IM: a body too large for any path gets 413 before anything else is revealed.
  if (method === 'MESSAGE' && ctx.checkMessageSize() === null) return;

  ctx.recordRoute();

  // 5. Local destinations.
  if (ctx.targetDomain !== undefined) {
    if (ctx.isForUs) {
      ctx.reply(method === 'OPTIONS' ? 200 : 404);
      return;
    }
    const exists = await ctx.userExists();
    const targets = exists ? ctx.lookup() : [];
    if (targets.length === 0) {
      const ours = exists && (ctx.authenticatedUser !== undefined || trusted);
      // 5a. Our users and trusted peers may leave a message for a user who is offline (202). A
      // stranger gets 404 as for any other request: storing for them would tell them, by 202 or
      // 404, which users exist (and let anyone fill the users' quotas).
      if (ours && method === 'MESSAGE' && (await ctx.storeOffline())) return;
      // 404 for one and 480 for the other would tell a stranger which users exist
      ctx.reply(ours ? 480 : 404);
      return;
    }
    // 5a. A MESSAGE goes to every registered contact at once, the first 2xx answering it: q values
    // order attempts, and a page should not wait for Timer F (32 s) on a device that is gone before
    // the next one is tried. Contacts that cannot carry its size are left out (413 when none can).
    if (method === 'MESSAGE') {
      const fitting = ctx.checkMessageSize(targets.map((t) => ({ ...t, q: undefined })));
      if (fitting !== null) ctx.relay(fitting);
      return;
    }
    ctx.relay(targets);
    return;
  }

  // 6. Elsewhere: only for our authenticated users and trusted peers.
  if (ctx.authenticatedUser === undefined && !trusted) {
    ctx.reply(403, { reason: 'Relaying Denied' });
    return;
  }
  ctx.relay();
}

const script: RoutingScript = { onRequest };
export default script;
