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
 *  5. requests to a served domain go to the user's registered contacts, in parallel for equal q
 *     values, by q value otherwise; a user who cannot be reached gets 404, whether unknown or
 *     without a binding, unless the caller is one of ours (then 404 unknown, 480 not registered);
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
  if (ctx.inDialog) {
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
      // 404 for one and 480 for the other would tell a stranger which users exist
      ctx.reply(exists && (ctx.authenticatedUser !== undefined || trusted) ? 480 : 404);
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
