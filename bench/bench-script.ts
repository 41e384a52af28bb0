/**
 * The routing script for the benchmark harness (../shared/bench/README.md, "What the server must
 * do"): exactly the job bench/kamailio/kamailio.cfg does, nothing less.
 *  - REGISTER: digest challenge (401), verify, store the binding, 200;
 *  - INVITE to a local user: no authentication, location lookup, Record-Route, stateful relay;
 *  - in-dialog ACK/BYE: loose-routed along our Record-Route;
 *  - OPTIONS to the server itself: 200.
 */
import type { RequestContext, RoutingScript } from '../src/routing/index.ts';

// Synchronous except for REGISTER: a request decided at once costs no promise or microtask.
function onRequest(ctx: RequestContext): void | Promise<void> {
  if (ctx.inDialog) {
    if (ctx.looseRouted) ctx.relay();
    else ctx.reply(404);
    return;
  }
  switch (ctx.method) {
    case 'OPTIONS':
      // the harness allows a stateless answer here, as Kamailio's sl_send_reply does
      ctx.replyStateless(ctx.isForUs ? 200 : 404);
      return;
    case 'REGISTER':
      return register(ctx);
    case 'INVITE': {
      const targets = ctx.lookup();
      if (targets.length === 0) {
        ctx.reply(404);
        return;
      }
      ctx.recordRoute();
      ctx.relay(targets);
      return;
    }
    default:
      ctx.reply(405, { headers: [['Allow', 'INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER']] });
  }
}

async function register(ctx: RequestContext): Promise<void> {
  if (await ctx.authenticate('www')) ctx.save();
}

const script: RoutingScript = { onRequest };
export default script;
