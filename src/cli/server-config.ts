import { readFileSync } from 'node:fs';
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
    location: { persist: r.persist_bindings },
    timers: { T1: config.timers.t1, T2: config.timers.t2, T4: config.timers.t4, ...(config.timers.linger === undefined ? {} : { linger: config.timers.linger }) },
    names: config.names,
    advertisedHost: config.advertise,
    tls: tlsSettings(config.tls),
    topologyHiding: { enabled: config.topology_hiding.enabled, secret: config.topology_hiding.secret },
    security: securitySettings(config.security),
    messaging: {
      maxBody: config.messaging.max_body,
      maxUdpBody: config.messaging.max_udp_body,
      offline: { enabled: config.messaging.offline.enabled, maxPerUser: config.messaging.offline.max_per_user, expireSec: config.messaging.offline.expire_sec },
    },
    presence: presenceSettings(config.presence),
    limits: {
      maxMessageSize: config.limits.max_message_size,
      maxHeaders: config.limits.max_headers,
      maxVias: config.limits.max_vias,
      maxConnectionsPerSource: config.limits.max_connections_per_source,
      idleTimeoutSec: config.limits.idle_timeout_sec,
      messageTimeoutSec: config.limits.message_timeout_sec,
    },
    logLevel: config.log.level,
  };
}

function presenceSettings(p: SiplineConfig['presence']): ServerConfig['presence'] {
  const expiries = (e: { default_expires: number; min_expires: number; max_expires: number }) => ({ defaultExpires: e.default_expires, minExpires: e.min_expires, maxExpires: e.max_expires });
  return {
    enabled: p.enabled,
    defaultPolicy: p.default_policy,
    publish: expiries(p.publish),
    subscribe: expiries(p.subscribe),
    fromRegistration: p.from_registration,
    domains: Object.fromEntries(Object.entries(p.domains).map(([name, d]) => [name.toLowerCase(), withoutUndefined({ fromRegistration: d.from_registration })])),
  };
}

function securitySettings(s: SiplineConfig['security']): ServerConfig['security'] {
  return {
    flood: { requests: s.flood.requests, windowSec: s.flood.window_sec, banSec: s.flood.ban_sec, action: s.flood.action },
    authFailures: { maxFailures: s.auth_failures.max_failures, windowSec: s.auth_failures.window_sec, blockSec: s.auth_failures.block_sec, maxBlockSec: s.auth_failures.max_block_sec },
    maxCallsPerUser: s.max_calls_per_user,
    // `address` is a required key of a peer mapping: the schema rejected entries without it
    trustedPeers: s.trusted_peers.map((p) => ({ address: p.address as string, transport: p.transport, port: p.port, group: p.group })),
  };
}

/**
 * The PEM files of `tls` read (the loader checked that they exist); undefined without a certificate.
 * Read again on SIGHUP, so that renewed certificates are served without a restart.
 */
export function tlsSettings(t: SiplineConfig['tls']): ServerConfig['tls'] {
  if (t.certificate === undefined || t.private_key === undefined) return undefined;
  return {
    certificate: readFileSync(t.certificate),
    privateKey: readFileSync(t.private_key),
    minVersion: t.min_version,
    domains: Object.fromEntries(
      Object.entries(t.domains).map(([name, d]) => [name.toLowerCase(), { certificate: readFileSync(d.certificate as string), privateKey: readFileSync(d.private_key as string) }]),
    ),
    verifyClients: t.verify_clients,
    ca: t.ca === undefined ? undefined : readFileSync(t.ca),
    trustedPeers: t.trusted_peers,
    verifyServer: t.verify_server,
    handshakeTimeoutMs: t.handshake_timeout,
  };
}

function withoutUndefined<T extends object>(o: T): Partial<{ [K in keyof T]: Exclude<T[K], undefined> }> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<{ [K in keyof T]: Exclude<T[K], undefined> }>;
}
