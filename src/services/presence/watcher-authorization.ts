/**
 * Authorization of watchers (RFC 3856 §5.1): which presentity lets which watcher see its
 * presence. Rules live in the store (`sipline presence allow|block|...`) and are held in memory,
 * so deciding costs two map lookups; reload() picks up changes made by the CLI.
 */
import type { PresenceAction, PresenceRule, PresenceRuleRepository } from '../../store/ports.ts';

/**
 * What applies when no rule matches: one of the actions, or same-domain (allow watchers of the
 * presentity's own domain, hold the others pending until the presentity decides).
 */
export type DefaultPresencePolicy = PresenceAction | 'same-domain';

export class WatcherAuthorization {
  private rules = new Map<string, Map<string, PresenceAction>>();

  constructor(
    private readonly repository: PresenceRuleRepository,
    private readonly defaultPolicy: DefaultPresencePolicy,
  ) {}

  /** Reads every rule; returns the presentities whose rules changed since the last load. */
  async reload(): Promise<Set<string>> {
    const next = new Map<string, Map<string, PresenceAction>>();
    for (const r of await this.repository.listPresenceRules()) {
      let map = next.get(r.presentity);
      if (map === undefined) next.set(r.presentity, (map = new Map()));
      map.set(r.watcher, r.action);
    }
    const changed = new Set<string>();
    for (const [presentity, map] of next) if (!sameRules(map, this.rules.get(presentity))) changed.add(presentity);
    for (const presentity of this.rules.keys()) if (!next.has(presentity)) changed.add(presentity);
    this.rules = next;
    return changed;
  }

  /** Replaces the rules in memory (tests, and callers that already hold them). */
  load(rules: PresenceRule[]): void {
    this.rules = new Map();
    for (const r of rules) {
      let map = this.rules.get(r.presentity);
      if (map === undefined) this.rules.set(r.presentity, (map = new Map()));
      map.set(r.watcher, r.action);
    }
  }

  /**
   * The action for a watcher ("user@domain", or a domain alone for an anonymous one): the rule for
   * the watcher's AOR, else for its domain, else "*", else the default policy. A presentity always
   * sees itself.
   */
  decide(presentity: string, watcher: string): PresenceAction {
    if (watcher === presentity) return 'allow';
    const at = watcher.lastIndexOf('@');
    const watcherDomain = at < 0 ? watcher : watcher.slice(at + 1);
    const rules = this.rules.get(presentity);
    const ruled = rules?.get(watcher) ?? rules?.get(watcherDomain) ?? rules?.get('*');
    if (ruled !== undefined) return ruled;
    if (this.defaultPolicy !== 'same-domain') return this.defaultPolicy;
    return watcherDomain === presentity.slice(presentity.lastIndexOf('@') + 1) ? 'allow' : 'pending';
  }
}

function sameRules(a: Map<string, PresenceAction>, b: Map<string, PresenceAction> | undefined): boolean {
  if (b === undefined || a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}
