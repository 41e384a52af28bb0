import { readFileSync } from 'node:fs';
import type { Domain, Subscriber } from '../store/index.ts';
import { splitAddress, subscriberFor, userProblem } from './accounts.ts';
import { domainDirectory, loadContext, requireDomain, withStore, type StoreOptions } from './context.ts';
import { parseAccountsCsv } from './csv.ts';
import { CommandError, UsageError } from './errors.ts';
import type { Output } from './output.ts';

function parseAddress(text: string): { user: string; domain: string } {
  const address = splitAddress(text);
  if (address === null || address.domain === '') throw new UsageError(`USER@DOMAIN ${JSON.stringify(text)}: write the user with its domain, e.g. alice@example.com`);
  const problem = userProblem(address.user);
  if (problem !== null) throw new UsageError(`USER@DOMAIN ${JSON.stringify(text)}: ${problem}`);
  return address;
}

function requirePassword(password: string | undefined): string {
  if (password === undefined || password === '') throw new UsageError('--password: give the password, e.g. --password s3cret');
  return password;
}

export async function userAdd(address: string, options: StoreOptions & { password?: string }, out: Output): Promise<void> {
  const { user, domain: domainName } = parseAddress(address);
  const password = requirePassword(options.password);
  const ctx = loadContext(options);
  await withStore(ctx, async (store) => {
    const domain = requireDomain(await domainDirectory(ctx, store), domainName, ctx);
    if ((await store.getSubscriber(user, domain.name)) !== undefined) {
      throw new CommandError(`${user}@${domain.name} exists already; change its password with: sipline user passwd ${user}@${domain.name} --password ...`);
    }
    await store.putSubscriber(subscriberFor(user, domain, password));
    out.line(`added ${user}@${domain.name} (realm ${domain.realm})`);
  });
}

export async function userPasswd(address: string, options: StoreOptions & { password?: string }, out: Output): Promise<void> {
  const { user, domain: domainName } = parseAddress(address);
  const password = requirePassword(options.password);
  const ctx = loadContext(options);
  await withStore(ctx, async (store) => {
    const domain = requireDomain(await domainDirectory(ctx, store), domainName, ctx);
    if ((await store.getSubscriber(user, domain.name)) === undefined) {
      throw new CommandError(`no user ${user}@${domain.name}; add it with: sipline user add ${user}@${domain.name} --password ...`);
    }
    await store.putSubscriber(subscriberFor(user, domain, password));
    out.line(`changed the password of ${user}@${domain.name}`);
  });
}

export async function userDel(address: string, options: StoreOptions, out: Output): Promise<void> {
  const { user, domain: domainName } = parseAddress(address);
  const ctx = loadContext(options);
  await withStore(ctx, async (store) => {
    // an alias names the same domain; a domain no longer served may still hold users to delete
    const domain = (await domainDirectory(ctx, store)).resolve(domainName)?.name ?? domainName;
    if (!(await store.deleteSubscriber(user, domain))) throw new CommandError(`no user ${user}@${domain}`);
    out.line(`deleted ${user}@${domain}`);
  });
}

export async function userList(options: StoreOptions & { domain?: string }, out: Output): Promise<void> {
  const ctx = loadContext(options);
  await withStore(ctx, async (store) => {
    const filter = options.domain === undefined ? undefined : ((await domainDirectory(ctx, store)).resolve(options.domain)?.name ?? options.domain.toLowerCase());
    const users = await store.listSubscribers(filter);
    for (const s of users) out.line(`${s.username}@${s.domain}`);
    if (users.length === 0) out.note(filter === undefined ? 'no users' : `no users in ${filter}`);
  });
}

/** Most bad rows listed one by one; the rest are counted. */
const MAX_LISTED_PROBLEMS = 50;

export async function userImport(file: string, options: StoreOptions & { domain?: string }, out: Output): Promise<void> {
  const ctx = loadContext(options);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new CommandError(`cannot read ${file}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  }
  await withStore(ctx, async (store) => {
    const directory = await domainDirectory(ctx, store);
    const defaultDomain = options.domain === undefined ? undefined : requireDomain(directory, options.domain.toLowerCase(), ctx);
    const { rows, problems } = parseAccountsCsv(text);
    const subscribers: Subscriber[] = [];
    const unknownDomains = new Set<string>();
    for (const { line, fields } of rows) {
      const bad = (problem: string) => problems.push({ line, problem });
      if (fields.length !== 2) {
        bad(`expected 2 fields (user,password or user@domain,password), found ${fields.length}`);
        continue;
      }
      const [who, password] = fields;
      const address = splitAddress(who.trim());
      const user = address === null ? who.trim() : address.user;
      let domain: Domain | undefined = defaultDomain;
      if (address !== null) {
        domain = directory.resolve(address.domain);
        if (domain === undefined) {
          unknownDomains.add(address.domain);
          bad(`domain ${JSON.stringify(address.domain)} is not served`);
          continue;
        }
      }
      const problem = userProblem(user);
      if (problem !== null) bad(problem);
      else if (password === '') bad('the password is empty');
      else if (domain === undefined) bad(`${JSON.stringify(user)} has no domain: write user@domain, or give --domain for the whole file`);
      else subscribers.push(subscriberFor(user, domain, password));
    }
    if (problems.length > 0) {
      problems.sort((a, b) => a.line - b.line);
      const listed = problems.slice(0, MAX_LISTED_PROBLEMS).map((p) => `${file}:${p.line}: ${p.problem}`);
      if (problems.length > MAX_LISTED_PROBLEMS) listed.push(`... and ${problems.length - MAX_LISTED_PROBLEMS} more bad rows`);
      const hint = unknownDomains.size > 0 ? `\nadd missing domains with: sipline domain add NAME (not served: ${[...unknownDomains].slice(0, 10).join(', ')})` : '';
      throw new CommandError(`${listed.join('\n')}\n${problems.length} bad ${problems.length === 1 ? 'row' : 'rows'}; nothing imported${hint}`);
    }
    if (subscribers.length === 0) {
      out.note(`${file} has no accounts; nothing imported`);
      return;
    }
    const count = await store.importSubscribers(subscribers);
    out.line(`imported ${count} users from ${file}`);
  });
}
