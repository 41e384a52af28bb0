/**
 * What every command starts from: the configuration (--config, environment, flags), the data
 * directory and its store, and the domains known to it (configured, stored, or configured on the
 * server last started there).
 */
import { storePath } from '../app.ts';
import { loadConfig, type Overrides, type SiplineConfig } from '../config/index.ts';
import { DomainDirectory } from '../services/domains/index.ts';
import { SqliteStore, type Domain } from '../store/index.ts';
import { CommandError } from './errors.ts';
import { configuredDomains } from './server-config.ts';
import { readServerState } from './server-state.ts';

/** Options every command accepts. */
export interface StoreOptions {
  config?: string;
  data?: string;
}

export interface Context {
  config: SiplineConfig;
  configFile: string | null;
  /** Absolute data directory. */
  dataDir: string;
  storeFile: string;
}

export function loadContext(options: StoreOptions, overrides: Overrides = {}): Context {
  const { config, file } = loadConfig({ file: options.config, overrides: { ...overrides, data: options.data } });
  return { config, configFile: file, dataDir: config.data, storeFile: storePath(config.data) };
}

/** Opens the store of the data directory for the length of `work`. */
export async function withStore<T>(ctx: Context, work: (store: SqliteStore) => Promise<T>): Promise<T> {
  let store: SqliteStore;
  try {
    store = new SqliteStore(ctx.storeFile);
  } catch (err) {
    throw new CommandError(`cannot open the store ${ctx.storeFile}: ${(err as Error).message}`);
  }
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

export type DomainSource = 'config' | 'server' | 'store';

/** Domains outside the store: this command's config, and what the server on this data directory was started with. */
export function nonStoredDomains(ctx: Context): Array<Domain & { source: DomainSource }> {
  const fromServer = readServerState(ctx.dataDir)?.domains ?? [];
  return [
    ...fromServer.map((d) => ({ ...d, source: 'server' as const })),
    ...configuredDomains(ctx.config).map((d) => ({ ...d, source: 'config' as const })),
  ];
}

/** The served domains as the server sees them (stored ones win over configured ones, as in DomainDirectory). */
export async function domainDirectory(ctx: Context, store: SqliteStore): Promise<DomainDirectory> {
  const directory = new DomainDirectory(store, nonStoredDomains(ctx));
  await directory.load();
  return directory;
}

/** The served domain for a name or alias, or a CommandError that says how to add it. */
export function requireDomain(directory: DomainDirectory, name: string, ctx: Context): Domain {
  const domain = directory.resolve(name);
  if (domain !== undefined) return domain;
  const how = `add it with: sipline domain add ${name}${dataFlag(ctx)} (or list it under domains: in the config file)`;
  if (directory.list().length === 0) throw new CommandError(`no domain is configured or stored yet; ${how}`);
  throw new CommandError(`domain ${JSON.stringify(name)} is not served here (served: ${directory.list().map((d) => d.name).join(', ')}); ${how}`);
}

function dataFlag(ctx: Context): string {
  return ctx.configFile === null ? ` --data ${ctx.dataDir}` : ` --config ${ctx.configFile}`;
}
