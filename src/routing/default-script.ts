/**
 * The default routing script: what a fresh sipline does, written with the same API a user's own
 * script uses. Copy this file, edit it, and start the server with `--script your-file.ts`.
 *
 * In order:
 *  1. in-dialog requests follow the route set we Record-Routed (loose routing);
 *  2. OPTIONS to the server itself is answered here (keep-alives, monitoring);
 *  3. REGISTER for a served domain is digest-authenticated, then saved in the location service;
 *  4. INVITE, MESSAGE, SUBSCRIBE and PUBLISH from a local user (a From of a served domain) are
 *     authenticated (407) before they go anywhere;
 *  5. requests to a served domain go to the user's registered contacts (404 for unknown users,
 *     480 when the user has no binding), in parallel for equal q values, by q value otherwise;
 *  6. requests to other domains are relayed only for authenticated local users: no open relay.
 */
import type { RequestContext, RoutingScript } from './index.ts';

const AUTHENTICATED_METHODS = new Set(['INVITE', 'MESSAGE', 'SUBSCRIBE', 'PUBLISH', 'REFER']);

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

  // 4. Local senders prove who they are.
  if (ctx.fromDomain !== undefined && AUTHENTICATED_METHODS.has(method)) {
    if (!(await ctx.authenticate('proxy'))) return;
  }

  ctx.recordRoute();

  // 5. Local destinations.
  if (ctx.targetDomain !== undefined) {
    if (ctx.isForUs) {
      ctx.reply(method === 'OPTIONS' ? 200 : 404);
      return;
    }
    if (!(await ctx.userExists())) {
      ctx.reply(404);
      return;
    }
    const targets = ctx.lookup();
    if (targets.length === 0) {
      ctx.reply(480);
      return;
    }
    ctx.relay(targets);
    return;
  }

  // 6. Elsewhere: only for our authenticated users.
  if (ctx.authenticatedUser === undefined) {
    ctx.reply(403, { reason: 'Relaying Denied' });
    return;
  }
  ctx.relay();
}

const script: RoutingScript = { onRequest };
export default script;
