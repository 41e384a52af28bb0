import { hostProblem } from '../config/index.ts';
import { loadContext, nonStoredDomains, withStore, type StoreOptions } from './context.ts';
import { UsageError } from './errors.ts';
import { table, type Output } from './output.ts';

function checkHost(what: string, text: string): string {
  const problem = hostProblem(text);
  if (problem !== null) throw new UsageError(`${what} ${JSON.stringify(text)} ${problem}`);
  return text.toLowerCase();
}

export async function domainAdd(nameArg: string, options: StoreOptions & { realm?: string; alias?: string[] }, out: Output): Promise<void> {
  const name = checkHost('NAME', nameArg);
  const aliases = (options.alias ?? []).map((a) => checkHost('--alias', a));
  if (options.realm !== undefined && options.realm === '') throw new UsageError('--realm: give a realm, or leave the flag out to use the domain name');
  const realm = options.realm ?? name;
  const ctx = loadContext(options);
  await withStore(ctx, async (store) => {
    const previous = (await store.listDomains()).find((d) => d.name === name);
    await store.putDomain({ name, realm, aliases });
    out.line(`${previous === undefined ? 'added' : 'updated'} domain ${name} (realm ${realm}${aliases.length > 0 ? `, aliases ${aliases.join(', ')}` : ''})`);
    if (previous !== undefined && previous.realm !== realm && (await store.listSubscribers(name)).length > 0) {
      out.note(`the realm changed from ${previous.realm} to ${realm}: the users of ${name} need their passwords set again (sipline user passwd)`);
    }
  });
}

export async function domainList(options: StoreOptions, out: Output): Promise<void> {
  const ctx = loadContext(options);
  await withStore(ctx, async (store) => {
    const stored = (await store.listDomains()).map((d) => ({ ...d, source: 'store' }));
    const all = [...nonStoredDomains(ctx), ...stored];
    if (all.length === 0) {
      out.note('no domains; add one with: sipline domain add NAME');
      return;
    }
    const rows = all.map((d) => [d.name, d.realm, d.aliases.join(',') || '-', d.source === 'server' ? 'server config' : d.source]);
    for (const l of table(['DOMAIN', 'REALM', 'ALIASES', 'SOURCE'], rows)) out.line(l);
  });
}
