import type { Logger } from '../shared/index.ts';
import type { ProxyRequest, Target } from '../proxy/index.ts';
import { FailureContext, ReplyContext, RequestContext, type ForwardHooks, type RoutingServices } from './request-context.ts';
import type { RoutingScript } from './script.ts';

/**
 * Runs the routing script for each request. A script that throws, rejects or returns without
 * answering fails that request with 500 and a log line, never the server. reload() swaps the
 * script for new requests; requests already in progress finish with the script they started with.
 */
export class RoutingEngine {
  /** The script and its forwarding hooks. */
  private current: ScriptHooks;
  private generation = 0;

  constructor(
    script: RoutingScript,
    private readonly services: RoutingServices,
    private readonly logger: Logger,
  ) {
    this.current = new ScriptHooks(script, logger);
  }

  get scriptGeneration(): number {
    return this.generation;
  }

  replace(script: RoutingScript): void {
    this.current = new ScriptHooks(script, this.logger);
    this.generation++;
  }

  handle(proxied: ProxyRequest): void {
    // a BYE ends a call for the concurrent call limit, whatever the script then does with it
    if (proxied.request.method === 'BYE') this.services.security.callEnded(proxied.request.callId);
    // the script this request started with, and its hooks, even if the script is reloaded meanwhile
    const current = this.current;
    const script = current.script;
    const ctx = new RequestContext(proxied, this.services, current);
    let result: void | Promise<void>;
    try {
      result = script.onRequest(ctx);
    } catch (err) {
      this.fail(ctx, proxied, err);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        () => this.checkHandled(ctx, proxied),
        (err) => this.fail(ctx, proxied, err),
      );
    } else {
      this.checkHandled(ctx, proxied);
    }
  }

  private checkHandled(ctx: RequestContext, proxied: ProxyRequest): void {
    if (ctx.handled) return;
    this.logger.warn({ callId: proxied.request.callId, method: proxied.request.method }, 'routing script returned without answering; sending 500');
    proxied.reply(500, { reason: 'Not Routed' });
  }

  private fail(ctx: RequestContext, proxied: ProxyRequest, err: unknown): void {
    this.logger.error({ err: (err as Error)?.stack ?? String(err), callId: proxied.request.callId, method: proxied.request.method }, 'routing script failed');
    if (!ctx.handled) proxied.reply(500);
  }
}

/** The reply and failure hooks of one script generation, made per forwarded request only when the script has them. */
export class ScriptHooks {
  constructor(
    readonly script: RoutingScript,
    private readonly logger: Logger,
  ) {}

  forwardHooks(proxied: ProxyRequest): ForwardHooks {
    const script = this.script;
    if (!script.onReply && !script.onFailure) return NO_HOOKS;
    return {
      onReply: script.onReply ? (response) => this.safe(() => script.onReply?.(new ReplyContext(proxied.request, response)), proxied) : undefined,
      onFailure: script.onFailure
        ? async (best): Promise<Target[] | void> => {
            const failure = new FailureContext(proxied.request, best, proxied);
            await script.onFailure?.(failure);
            return failure.nextTargets;
          }
        : undefined,
    };
  }

  private safe(fn: () => void, proxied: ProxyRequest): void {
    try {
      fn();
    } catch (err) {
      this.logger.error({ err: (err as Error)?.stack, callId: proxied.request.callId }, 'routing script onReply failed');
    }
  }
}

const NO_HOOKS: ForwardHooks = Object.freeze({});
