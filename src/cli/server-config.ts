import type { ServerConfig } from '../app.ts';
import type { SiplineConfig } from '../config/index.ts';
import type { Domain } from '../store/index.ts';

/** The configured domains (from the file and --domain), with realm and aliases filled in. */
export function configuredDomains(config: SiplineConfig): Domain[] {
  return config.domains.map((d) => {
    // `name` is a required key of a domain mapping: the schema rejected entries without it
    const name = (typeof d === 'string' ? d : (d.name as string)).toLowerCase();
    if (typeof d === 'string') return { name, realm: name, aliases: [] };
    return { name, realm: d.realm ?? name, aliases: d.aliases.map((a) => a.toLowerCase()) };
  });
}

/** Maps the checked configuration (snake_case keys of the YAML file) onto startServer's input. */
export function toServerConfig(config: SiplineConfig): ServerConfig {
  const r = config.registrar;
  const policy = (p: { default_expires?: number; min_expires?: number; max_expires?: number; max_contacts?: number }) =>
    withoutUndefined({ defaultExpires: p.default_expires, minExpires: p.min_expires, maxExpires: p.max_expires, maxContacts: p.max_contacts });
  return {
    listen: config.listen,
    domains: configuredDomains(config),
    dataDir: config.data,
    script: config.script,
    auth: { algorithms: config.auth.algorithms, nonceLifetimeSec: config.auth.nonce_lifetime, nonceKey: config.auth.nonce_key },
    registrar: {
      ...policy(r),
      domains: Object.fromEntries(Object.entries(r.domains).map(([name, p]) => [name.toLowerCase(), policy(p)])),
    },
    timers: { T1: config.timers.t1, T2: config.timers.t2, T4: config.timers.t4 },
    names: config.names,
    advertisedHost: config.advertise,
    topologyHiding: { enabled: config.topology_hiding.enabled, secret: config.topology_hiding.secret },
    logLevel: config.log.level,
  };
}

function withoutUndefined<T extends object>(o: T): Partial<{ [K in keyof T]: Exclude<T[K], undefined> }> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<{ [K in keyof T]: Exclude<T[K], undefined> }>;
}
