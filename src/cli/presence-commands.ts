/**
 * `sipline presence`: the watcher authorization rules of a presentity (RFC 3856 §5.1), stored
 * for the running server, which applies them to existing subscriptions within a second.
 */
import type { PresenceAction, PresenceRule } from '../store/index.ts';
import { splitAddress, userProblem } from './accounts.ts';
import { domainDirectory, loadContext, requireDomain, withStore, type StoreOptions } from './context.ts';
import { CommandError, UsageError } from './errors.ts';
import { table, type Output } from './output.ts';

export const PRESENCE_ACTIONS: readonly PresenceAction[] = ['allow', 'block', 'polite-block', 'pending'];

const MEANING: Record<PresenceAction, string> = {
  allow: 'sees the presence',
  block: 'is refused (403; a subscription is terminated)',
  'polite-block': 'is accepted but sees the user offline',
  pending: 'waits for a decision (listed in presence.winfo)',
};

function parsePresentity(text: string): { user: string; domain: string } {
  const address = splitAddress(text);
  const problem = address === null || address.domain === '' ? 'write the user with its domain, e.g. alice@example.com' : userProblem(address.user);
  if (problem !== null || address === null) throw new UsageError(`PRESENTITY ${JSON.stringify(text)}: ${problem}`);
  return address;
}

/** A watcher AOR (bob@example.com), a whole domain (example.com) or "*" for everyone. */
function parseWatcher(text: string): string {
  if (text === '*') return text;
  const address = splitAddress(text);
  if (address === null) {
    if (/^[A-Za-z0-9.-]+$/.test(text) && !text.startsWith('.')) return text.toLowerCase();
    throw new UsageError(`WATCHER ${JSON.stringify(text)}: write user@domain, a domain, or "*" for everyone`);
  }
  const problem = address.domain === '' ? 'the domain is missing' : userProblem(address.user);
  if (problem !== null) throw new UsageError(`WATCHER ${JSON.stringify(text)}: ${problem}`);
  return `${address.user}@${address.domain}`;
}

/** `sipline presence ACTION PRESENTITY WATCHER`: adds or replaces the rule. */
export async function presenceRule(action: PresenceAction, presentityArg: string, watcherArg: string, options: StoreOptions, out: Output): Promise<void> {
  const { user, domain: domainName } = parsePresentity(presentityArg);
  const watcher = parseWatcher(watcherArg);
  const ctx = loadContext(options);
  await withStore(ctx, async (store) => {
    const domain = requireDomain(await domainDirectory(ctx, store), domainName, ctx);
    if ((await store.getSubscriber(user, domain.name)) === undefined) throw new CommandError(`no user ${user}@${domain.name}; add it with: sipline user add ${user}@${domain.name} --password ...`);
    const rule: PresenceRule = { presentity: `${user}@${domain.name}`, watcher, action };
    await store.putPresenceRule(rule);
    out.line(`${rule.presentity}: ${watcher === '*' ? 'every watcher' : watcher} ${MEANING[action]}`);
  });
}

/** `sipline presence del PRESENTITY WATCHER`: the default policy applies again. */
export async function presenceRuleDel(presentityArg: string, watcherArg: string, options: StoreOptions, out: Output): Promise<void> {
  const { user, domain: domainName } = parsePresentity(presentityArg);
  const watcher = parseWatcher(watcherArg);
  const ctx = loadContext(options);
  await withStore(ctx, async (store) => {
    const domain = requireDomain(await domainDirectory(ctx, store), domainName, ctx);
    const presentity = `${user}@${domain.name}`;
    if (!(await store.deletePresenceRule(presentity, watcher))) throw new CommandError(`${presentity} has no rule for ${watcher}; see: sipline presence rules ${presentity}`);
    out.line(`${presentity}: the rule for ${watcher} is deleted (presence.default_policy applies: ${ctx.config.presence.default_policy})`);
  });
}

/** `sipline presence rules PRESENTITY`: the rules, most specific first as they apply. */
export async function presenceRules(presentityArg: string, options: StoreOptions, out: Output): Promise<void> {
  const { user, domain: domainName } = parsePresentity(presentityArg);
  const ctx = loadContext(options);
  await withStore(ctx, async (store) => {
    const domain = requireDomain(await domainDirectory(ctx, store), domainName, ctx);
    const presentity = `${user}@${domain.name}`;
    const rules = await store.listPresenceRules(presentity);
    out.note(`others: presence.default_policy (${ctx.config.presence.default_policy})`);
    if (rules.length === 0) {
      out.note(`${presentity} has no rules; add one with: sipline presence allow|block|polite-block|pending ${presentity} WATCHER`);
      return;
    }
    // a watcher's own rule wins over its domain's, which wins over "*"
    const rank = (w: string) => (w === '*' ? 2 : w.includes('@') ? 0 : 1);
    const sorted = [...rules].sort((a, b) => rank(a.watcher) - rank(b.watcher) || a.watcher.localeCompare(b.watcher));
    for (const l of table(['WATCHER', 'ACTION'], sorted.map((r) => [r.watcher, r.action]))) out.line(l);
  });
}
