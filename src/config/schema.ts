/**
 * The one schema of sipline's configuration: every key with its type, default, allowed values,
 * description, and the flag or environment variable that overrides it. The loader checks config
 * files against it and docs/configuration.md is generated from it (`npm run docs:config`).
 */
import { isIP } from 'node:net';
import type { ListenSpec } from '../transport/index.ts';
import { boolean, choice, either, type Field, type Infer, integer, list, object, record, string, INVALID } from './fields.ts';
import { DEFAULT_LISTEN, formatListenSpec, readListenSpec } from './listen-spec.ts';

const HOST_NAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;

/** A DNS name or an IP address (IPv6 with or without brackets). */
export function hostProblem(text: string): string | null {
  if (HOST_NAME.test(text) || isIP(text) !== 0) return null;
  if (text.startsWith('[') && text.endsWith(']') && isIP(text.slice(1, -1)) === 6) return null;
  return 'is not a host name or IP address';
}

const domainName = (description: string) => string({ description, type: 'host name', allowed: 'a host name or IP address', validate: hostProblem });

const listenSpec: Field<ListenSpec> = {
  doc: { type: 'string', description: 'A listener.', allowed: 'PROTOCOL:HOST[:PORT] (udp or tcp; IPv6 in brackets; port 5060 when absent)' },
  check(value, path, issues) {
    const r = typeof value === 'string' ? readListenSpec(value) : 'is not a string like udp:0.0.0.0:5060';
    if (typeof r === 'string') {
      issues.push({ path, text: `${JSON.stringify(value)} ${r}` });
      return INVALID;
    }
    return r;
  },
  absent(path, issues) {
    issues.push({ path, text: 'is empty: write PROTOCOL:HOST[:PORT]' });
    return INVALID;
  },
};

const domainEntry = object(
  {
    name: domainName('The domain name (the host part of its users\' addresses).'),
    realm: string({ description: 'The digest realm of its users; the domain name when absent. Passwords are stored as hashes over the realm: changing it needs new passwords.' }),
    aliases: list(domainName('Another name of the domain.'), { default: [], type: 'list of host names', description: 'Other names that reach the same users (another DNS name, an IP address of the server).' }),
  },
  { description: 'A served domain with its realm and aliases.', required: ['name'] },
);

const REGISTRAR_KEYS = {
  default_expires: { min: 1, max: 4294967295, unit: 'seconds', default: 3600, description: 'Expiry given to a contact that asks for none (RFC 3261 §10.3 step 7).' },
  min_expires: { min: 1, max: 4294967295, unit: 'seconds', default: 60, description: 'Shorter requested expiries get 423 Interval Too Brief with this Min-Expires.' },
  max_expires: { min: 1, max: 4294967295, unit: 'seconds', default: 86400, description: 'Longer requested expiries are cut to this.' },
  max_contacts: { min: 1, max: 10000, unit: 'contacts', default: 10, description: 'Most bindings one address-of-record may have; more get 403.' },
} as const;

/** Per-domain overrides: the same keys, without defaults (absent means the global value). */
const registrarOverride = (key: keyof typeof REGISTRAR_KEYS) => integer({ ...REGISTRAR_KEYS[key], default: undefined });

export const configSchema = object(
  {
    listen: list(listenSpec, {
      default: DEFAULT_LISTEN,
      docDefault: JSON.stringify(DEFAULT_LISTEN.map(formatListenSpec)),
      minItems: 1,
      type: 'list of strings',
      flag: '--listen',
      description: 'Where the server listens for SIP, one entry per socket: udp or tcp, an IPv4 address, an [IPv6] address or a host name, and a port.',
    }),
    domains: list(
      either(domainName('A domain name.'), domainEntry, {
        type: 'string or mapping',
        description: 'A served domain: its name, or a mapping with name, realm and aliases.',
      }),
      {
        default: [],
        type: 'list of domain names or mappings {name, realm, aliases}',
        flag: '--domain',
        description:
          'The SIP domains this server is the registrar and home proxy for, in addition to those added with `sipline domain add`. When none is configured or stored, the first listen address serves as the domain.',
      },
    ),
    data: string({
      default: './data',
      type: 'directory',
      flag: '--data',
      env: 'SIPLINE_DATA',
      description: 'Directory of the SQLite store (sipline.sqlite: users, domains, registrations). Relative to the config file\'s directory when set in the file, to the working directory otherwise.',
    }),
    script: string({
      type: 'file',
      flag: '--script',
      description: 'A routing script (TypeScript or JavaScript module); the built-in default script when absent. Relative to the config file\'s directory when set in the file. SIGHUP reloads it.',
    }),
    log: object(
      {
        level: choice(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], { default: 'info', flag: '--log-level', env: 'SIPLINE_LOG_LEVEL', description: 'The least severe log level written.' }),
        format: choice(['json', 'pretty'], { default: 'json', flag: '--log-format', env: 'SIPLINE_LOG_FORMAT', description: 'json: one JSON object per line (pino); pretty: human-readable lines.' }),
      },
      { description: 'Logging (to standard output).' },
    ),
    auth: object(
      {
        algorithms: list(choice(['MD5', 'SHA-256'], { description: 'A digest algorithm.' }), {
          default: ['MD5'],
          minItems: 1,
          type: 'list of strings',
          description: 'Digest algorithms offered in challenges, preferred first (RFC 8760 §2.4); one challenge header per algorithm.',
        }),
        nonce_lifetime: integer({ min: 1, max: 86400, unit: 'seconds', default: 300, description: 'How long a nonce is accepted; after that a correct digest gets a new challenge with stale=true.' }),
        nonce_key: string({
          env: 'SIPLINE_NONCE_KEY',
          allowed: 'at least 16 characters',
          validate: (t) => (t.length < 16 ? 'is too short: use at least 16 characters' : null),
          description: 'Secret for signing nonces; servers sharing it accept each other\'s nonces. Random per start when absent.',
        }),
      },
      { description: 'Digest authentication (RFC 3261 §22, RFC 7616).' },
    ),
    registrar: object(
      {
        default_expires: integer(REGISTRAR_KEYS.default_expires),
        min_expires: integer(REGISTRAR_KEYS.min_expires),
        max_expires: integer(REGISTRAR_KEYS.max_expires),
        max_contacts: integer(REGISTRAR_KEYS.max_contacts),
        domains: record(
          domainName('A domain name.'),
          object(
            {
              default_expires: registrarOverride('default_expires'),
              min_expires: registrarOverride('min_expires'),
              max_expires: registrarOverride('max_expires'),
              max_contacts: registrarOverride('max_contacts'),
            },
            { description: 'Registrar settings for one domain.' },
          ),
          { description: 'Per-domain overrides of the registrar keys above, by domain name.' },
        ),
      },
      { description: 'The registrar (RFC 3261 §10.3).' },
    ),
    timers: object(
      {
        t1: integer({ min: 1, max: 60000, unit: 'milliseconds', default: 500, description: 'T1, the round-trip time estimate (RFC 3261 §17.1.1.1).' }),
        t2: integer({ min: 1, max: 600000, unit: 'milliseconds', default: 4000, description: 'T2, the longest retransmission interval for non-INVITE requests and INVITE responses.' }),
        t4: integer({ min: 1, max: 600000, unit: 'milliseconds', default: 5000, description: 'T4, how long a message may stay in the network.' }),
      },
      { description: 'SIP transaction timers (RFC 3261 §17).' },
    ),
    topology_hiding: object(
      {
        enabled: boolean({
          default: false,
          description:
            'Hide the topology of every dialog the proxy forwards statefully (Kamailio topoh): each side sees only this proxy in Via, Record-Route and Contact. Scripts can hide single requests with ctx.hideTopology() instead.',
        }),
        secret: string({
          env: 'SIPLINE_TOPOLOGY_SECRET',
          allowed: 'at least 16 characters',
          validate: (t) => (t.length < 16 ? 'is too short: use at least 16 characters' : null),
          description: 'Key of the sealed Record-Route and Contact tokens. Random per start when absent, so hidden dialogs do not survive a restart; set it (the same on every node) to keep them routable.',
        }),
      },
      { description: 'Topology hiding for requests leaving to untrusted networks.' },
    ),
    names: list(domainName('A host name or IP address.'), {
      default: [],
      type: 'list of host names',
      description: 'Other names of this server (behind NAT, DNS names) so that Route and Record-Route headers with them are recognised as ours.',
    }),
    advertise: string({
      type: 'host name',
      allowed: 'a host name or IP address',
      validate: hostProblem,
      description: 'The host written into Via and Record-Route when a listener is bound to 0.0.0.0 or ::.',
    }),
  },
  { description: 'The sipline configuration file.' },
);

export type SiplineConfig = Infer<typeof configSchema>;

/** An example file; a test checks that it passes the schema. */
export const EXAMPLE_CONFIG = `listen:
  - udp:0.0.0.0:5060
  - tcp:0.0.0.0:5060
domains:
  - example.com
  - name: example.org
    realm: example.org
    aliases: [sip.example.org]
data: /var/lib/sipline
log:
  level: info
  format: json
auth:
  algorithms: [SHA-256, MD5]
registrar:
  max_expires: 7200
  domains:
    example.org:
      min_expires: 300
`;
