/**
 * The routing script of the start-up rehearsal's private server (src/rehearsal.ts): the default
 * script, plus a stateless answer to the OPTIONS pings whose Call-ID the rehearsal marks with a
 * leading "s". A script that answers keep-alives statelessly (Kamailio's sl_send_reply, the
 * benchmark's script) then finds that path optimized too; the other pings still exercise the
 * stateful reply of the default script.
 */
import defaultScript from './default-script.ts';
import type { RequestContext, RoutingScript } from './index.ts';

export const STATELESS_CALL_ID_MARK = 's';

function onRequest(ctx: RequestContext): void | Promise<void> {
  if (ctx.method === 'OPTIONS' && !ctx.inDialog && ctx.isForUs && ctx.request.callId.startsWith(STATELESS_CALL_ID_MARK)) {
    ctx.replyStateless(200);
    return;
  }
  return defaultScript.onRequest(ctx);
}

const rehearsalScript: RoutingScript = { onRequest };
export default rehearsalScript;
