import { silentLogger, type Logger } from '../shared/index.ts';
import { resolveNumericUri, resolveUri } from '../dns/index.ts';
import { createResponse, type SipRequest, type SipResponse } from '../sip/index.ts';
import type { TransactionLayer } from '../transaction/index.ts';
import type { Destination } from '../transport/index.ts';
import type { Target } from './target.ts';

/**
 * Requests the server sends on its own behalf, as a UAC beside the proxy core (stored messages
 * delivered when their recipient registers): one client transaction per target, all in parallel
 * like a proxy's parallel fork (RFC 3261 §16.6), with no server transaction to answer.
 */
export class RequestOriginator {
  constructor(
    private readonly transactions: TransactionLayer,
    private readonly logger: Logger = silentLogger,
  ) {}

  /**
   * Sends a copy of the request to each target (its URI as Request-URI, its Path as Route,
   * RFC 3327 §5.4) and resolves with the first 2xx, or when every branch has ended with the best
   * of their final responses (§16.7 step 6: a 6xx first, else the lowest status). No target gives
   * 480; a target that cannot be resolved or reached counts as 503 (§8.1.3.1). Non-INVITE branches
   * cannot be cancelled: the others run to their end.
   */
  send(request: SipRequest, targets: Target[]): Promise<SipResponse> {
    if (targets.length === 0) return Promise.resolve(createResponse(request, 480));
    return new Promise((resolve) => {
      let open = targets.length;
      let best: SipResponse | null = null;
      let settled = false;
      const final = (response: SipResponse) => {
        if (settled) return;
        if (response.status < 300) {
          settled = true;
          resolve(response);
          return;
        }
        if (best === null || better(response.status, best.status)) best = response;
        if (--open === 0) {
          settled = true;
          resolve(best);
        }
      };
      for (const target of targets) {
        const copy = request.clone();
        copy.setUri(target.uri);
        if (target.path !== undefined) for (let i = target.path.length - 1; i >= 0; i--) copy.add('Route', target.path[i], true);
        this.destinationOf(copy, target).then(
          (destination) => {
            try {
              this.transactions.sendRequest(copy, destination, {
                onResponse: (response) => {
                  if (response.status >= 200) final(response);
                },
              });
            } catch (err) {
              this.logger.info({ err: (err as Error).message, callId: copy.callId }, 'cannot send to target');
              final(createResponse(copy, 503));
            }
          },
          (err: Error) => {
            this.logger.info({ err: err.message, callId: copy.callId, target: target.uri.toString() }, 'cannot send to target');
            final(createResponse(copy, 503));
          },
        );
      }
    });
  }

  private async destinationOf(request: SipRequest, target: Target): Promise<Destination> {
    if (target.destination !== undefined) return target.destination;
    const nextHop = request.routes[0]?.uri ?? request.uri;
    return resolveNumericUri(nextHop) ?? resolveUri(nextHop);
  }
}

/** §16.7 step 6: a 6xx beats everything else; otherwise the lower status wins. */
function better(candidate: number, current: number): boolean {
  if (candidate >= 600 !== current >= 600) return candidate >= 600;
  return candidate < current;
}
