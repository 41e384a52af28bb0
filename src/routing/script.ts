import type { FailureContext, ReplyContext, RequestContext } from './request-context.ts';

/**
 * A routing script: the TypeScript equivalent of a Kamailio routing script. `onRequest` runs for
 * every new request (not for retransmissions, ACKs of 2xx or CANCELs, which the proxy core
 * handles); `onReply` sees every response of a forwarded request; `onFailure` runs when every
 * branch failed and may try other targets (serial failover, divert, voicemail).
 */
export interface RoutingScript {
  onRequest(ctx: RequestContext): void | Promise<void>;
  onReply?(ctx: ReplyContext): void;
  onFailure?(ctx: FailureContext): void | Promise<void>;
}

/** Identity function that gives a script object its type, for editors. */
export function defineScript(script: RoutingScript): RoutingScript {
  return script;
}
