import type { Timer, TimerTarget } from '../shared/index.ts';
import { createResponse, type SipResponse } from '../sip/index.ts';
import type { ClientTransactionHandle, ServerTransactionHandle } from '../transaction/index.ts';
import type { Target } from './target.ts';

/** One forwarded copy of the request (RFC 3261 §16.6) and what came back on it. */
export class Branch implements TimerTarget {
  transaction: ClientTransactionHandle | null = null;
  /** Highest status seen: 0 none yet, 1xx provisional, >= 200 final. */
  status = 0;
  cancelRequested = false;
  cancelSent = false;
  timerC: Timer | null = null;

  constructor(
    readonly context: ResponseContext,
    readonly target: Target,
  ) {}

  get done(): boolean {
    return this.status >= 200;
  }

  onTimer(): void {
    this.timerC = null;
    this.context.timerCFired(this);
  }
}

/** What the proxy core does for the response context. */
export interface BranchStarter {
  startBranch(branch: Branch): void;
  cancelBranch(branch: Branch): void;
  scheduleTimerC(branch: Branch): void;
  clearTimerC(branch: Branch): void;
  /** The final response went upstream. */
  finished(): void;
}

export interface ResponseHooks {
  /** Every response from a branch (after our Via is removed), before it is acted on. */
  onResponse?(response: SipResponse, branch: Branch): void;
  /**
   * No branch succeeded and the target set is exhausted: return more targets to try (serial
   * failover, a diversion, voicemail), or nothing to send the best response upstream.
   */
  onFailure?(best: SipResponse, context: ResponseContext): Target[] | void | Promise<Target[] | void>;
  /** The final response that went upstream: the first 2xx, or the one chosen when every branch failed. */
  onFinal?(response: SipResponse): void;
}

/**
 * The response context of a proxied request (RFC 3261 §16.7): its branches, the targets still to
 * try (lower q values wait for the higher ones to fail, §16.6), the final responses kept for
 * best-response selection, forwarding of provisional and 2xx responses at once, CANCEL of the
 * other branches once a final response went upstream or a 6xx arrived.
 */
export class ResponseContext {
  readonly branches: Branch[] = [];
  private readonly finals: SipResponse[] = [];
  private readonly groups: Target[][];
  finalSent = false;
  cancelled = false;
  private sixxReceived = false;
  private failureHookRunning = false;

  constructor(
    readonly server: ServerTransactionHandle,
    targets: Target[],
    private starter: BranchStarter,
    public hooks: ResponseHooks = {},
  ) {
    this.groups = groupByQ(targets);
  }

  get isInvite(): boolean {
    return this.server.isInvite;
  }

  start(): void {
    if (!this.startNextGroup()) this.finish();
  }

  /** Targets added while the context is live (e.g. by a script after a redirect) join as a new group. */
  addTargets(targets: Target[]): void {
    for (const g of groupByQ(targets)) this.groups.push(g);
  }

  receive(branch: Branch, response: SipResponse): void {
    const status = response.status;
    if (branch.done && !(status >= 200 && status < 300 && this.isInvite)) return;
    this.hooks.onResponse?.(response, branch);
    if (status < 200) {
      branch.status = Math.max(branch.status, status);
      if (this.isInvite) this.starter.scheduleTimerC(branch); // §16.7 step 2: a provisional resets Timer C
      if (branch.cancelRequested && !branch.cancelSent) this.starter.cancelBranch(branch);
      // §16.7 step 5: provisional responses other than 100 go upstream at once
      if (status > 100 && !this.finalSent) this.server.respond(response);
      return;
    }
    branch.status = status;
    this.starter.clearTimerC(branch);
    if (status < 300) {
      // §16.7 step 5: every 2xx is forwarded at once (all of them for INVITE, RFC 6026)
      const first = !this.finalSent;
      this.finalSent = true;
      this.server.respond(response);
      if (first) {
        this.hooks.onFinal?.(response);
        this.cancelPending();
        this.starter.finished();
      }
      this.retireWhenSettled();
      return;
    }
    if (this.finalSent) {
      // a cancelled fork's 487 (or another non-2xx) after the final went upstream: nothing to keep
      this.retireWhenSettled();
      return;
    }
    this.finals.push(response);
    if (status >= 600) {
      // §16.7 step 5: a 6xx ends the search; pending branches are cancelled
      this.sixxReceived = true;
      this.cancelPending();
    }
    this.checkCompletion();
  }

  /** Upstream CANCEL (§16.10): cancel every pending branch; the INVITE will end with 487 from them. */
  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.groups.length = 0;
    this.cancelPending();
    if (this.branches.every((b) => b.done) && !this.finalSent) this.sendFinal(createResponse(this.server.request, 487));
  }

  timerCFired(branch: Branch): void {
    // §16.6 step 11: Timer C fired; with a provisional the branch is cancelled, otherwise it is
    // treated as a 408 from that branch.
    if (branch.done) return;
    if (branch.status > 0) {
      branch.cancelRequested = true;
      this.starter.cancelBranch(branch);
    } else {
      this.receive(branch, createResponse(this.server.request, 408));
    }
  }

  private checkCompletion(): void {
    if (this.finalSent || this.failureHookRunning) return;
    if (!this.branches.every((b) => b.done)) return;
    if (!this.sixxReceived && !this.cancelled && this.startNextGroup()) return;
    this.finish();
  }

  private finish(): void {
    if (this.finalSent) return;
    const best = this.bestResponse();
    const hook = this.hooks.onFailure;
    if (hook !== undefined && !this.sixxReceived && !this.cancelled) {
      this.failureHookRunning = true;
      Promise.resolve()
        .then(() => hook(best, this))
        .then(
          (more) => {
            this.failureHookRunning = false;
            if (this.finalSent) return;
            if (Array.isArray(more) && more.length > 0) {
              this.addTargets(more);
              if (this.startNextGroup()) return;
            }
            this.sendFinal(best);
          },
          () => {
            this.failureHookRunning = false;
            this.sendFinal(createResponse(this.server.request, 500));
          },
        );
      return;
    }
    this.sendFinal(best);
  }

  private sendFinal(response: SipResponse): void {
    if (this.finalSent) return;
    this.finalSent = true;
    this.server.respond(response);
    this.hooks.onFinal?.(response);
    this.cancelPending();
    this.starter.finished();
    this.retireWhenSettled();
  }

  /**
   * Once the final response went upstream and every branch has its final response, the context
   * only relays retransmitted 2xx (RFC 6026) for as long as the client transactions linger: it lets
   * go of the responses, targets, hooks and the request's routing state, which the garbage
   * collector would otherwise have to trace for 64*T1 per call.
   */
  private retireWhenSettled(): void {
    if (this.starter === RETIRED_STARTER) return;
    for (const b of this.branches) if (!b.done) return;
    this.finals.length = 0;
    this.groups.length = 0;
    this.branches.length = 0;
    this.hooks = {};
    this.starter = RETIRED_STARTER;
  }

  private startNextGroup(): boolean {
    const group = this.groups.shift();
    if (group === undefined) return false;
    // every branch of the group exists before any starts: a branch can fail at once (no route,
    // a send error), and completion must not be judged on a half-built group
    const started: Branch[] = [];
    for (const target of group) {
      const branch = new Branch(this, target);
      this.branches.push(branch);
      started.push(branch);
    }
    for (const branch of started) this.starter.startBranch(branch);
    return true;
  }

  private cancelPending(): void {
    for (const b of this.branches) {
      if (b.done || b.cancelRequested) continue;
      b.cancelRequested = true;
      // §9.1: a CANCEL may only follow a provisional response; otherwise it is sent when one arrives
      if (b.status > 0) this.starter.cancelBranch(b);
    }
  }

  /**
   * Best final response (§16.7 step 6): a 6xx if any, else the lowest class (3xx before 4xx
   * before 5xx), within it the lowest code with 408 last; none at all gives 408. 401/407
   * challenges from every branch are merged into the one sent; a 503 is sent as 500.
   */
  private bestResponse(): SipResponse {
    if (this.finals.length === 0) return createResponse(this.server.request, this.cancelled ? 487 : 408);
    const rank = (r: SipResponse) => (r.status >= 600 ? 0 : r.status === 408 ? r.status / 100 + 0.99 : r.status / 100);
    let best = this.finals[0];
    for (const r of this.finals) if (rank(r) < rank(best)) best = r;
    if (best.status === 503) {
      return createResponse(this.server.request, 500, { toTag: best.to.tag });
    }
    if (best.status === 401 || best.status === 407) {
      const merged = best.clone();
      for (const r of this.finals) {
        if (r === best || (r.status !== 401 && r.status !== 407)) continue;
        for (const v of r.getAll('www-authenticate')) merged.add('WWW-Authenticate', v);
        for (const v of r.getAll('proxy-authenticate')) merged.add('Proxy-Authenticate', v);
      }
      return merged;
    }
    return best;
  }
}

const RETIRED_STARTER: BranchStarter = {
  startBranch: () => {},
  cancelBranch: () => {},
  scheduleTimerC: () => {},
  clearTimerC: () => {},
  finished: () => {},
};

function groupByQ(targets: Target[]): Target[][] {
  const sorted = [...targets].sort((a, b) => (b.q ?? 1) - (a.q ?? 1));
  const groups: Target[][] = [];
  for (const t of sorted) {
    const last = groups[groups.length - 1];
    if (last !== undefined && (last[0].q ?? 1) === (t.q ?? 1)) last.push(t);
    else groups.push([t]);
  }
  return groups;
}
