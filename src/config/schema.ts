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

/** A PEM file; relative to the config file's directory (resolved by the loader). */
const pemFile = (description: string) => string({ description, type: 'file' });

/** An IP address or a CIDR block (10.0.0.0/8, 2001:db8::/32). */
export function addressBlockProblem(text: string): string | null {
  const slash = text.indexOf('/');
  const family = isIP(slash < 0 ? text : text.slice(0, slash));
  if (family === 0) return 'is not an IP address or CIDR block like 10.0.0.0/8 or 2001:db8::/32';
  const bits = family === 4 ? 32 : 128;
  if (slash >= 0 && !(/^\d{1,3}$/.test(text.slice(slash + 1)) && Number(text.slice(slash + 1)) <= bits)) return `has a prefix length that is not 0 to ${bits}`;
  return null;
}

const trustedPeer = object(
  {
    address: string({
      type: 'address',
      allowed: 'an IPv4 or IPv6 address or CIDR block',
      validate: addressBlockProblem,
      description: 'The peer\'s source address, or a block of them (10.0.0.0/8, 2001:db8::/32).',
    }),
    transport: choice(['udp', 'tcp', 'tls', 'ws', 'wss'], { description: 'Only requests over this transport; any transport when absent.' }),
    port: integer({ min: 1, max: 65535, unit: 'port numbers', description: 'Only requests from this source port; any port when absent.' }),
    group: string({ description: 'A group name for routing scripts (ctx.isTrusted(\'carrier1\')).' }),
  },
  { description: 'A trusted peer.', required: ['address'] },
);

const domainName = (description: string) => string({ description, type: 'host name', allowed: 'a host name or IP address', validate: hostProblem });

const listenSpec: Field<ListenSpec> = {
  doc: {
    type: 'string',
    description: 'A listener.',
    allowed: 'PROTOCOL:HOST[:PORT] (udp, tcp, tls, ws or wss; IPv6 in brackets; when the port is absent 5060 for udp and tcp, 5061 for tls, 8080 for ws, 8443 for wss)',
  },
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
      description:
        'Where the server listens for SIP, one entry per socket: udp, tcp, tls (SIP over TLS, RFC 3261 §26), ws or wss (SIP over WebSocket, RFC 7118, for browsers and WebRTC clients), an IPv4 address, an [IPv6] address or a host name, and a port. tls and wss listeners need `tls.certificate` and `tls.private_key`.',
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
    workers: integer({
      min: 0,
      max: 128,
      unit: 'processes',
      default: 0,
      docDefault: '0 (one per core)',
      flag: '--workers',
      description:
        'How many worker processes serve SIP. 0 starts one per core (os.availableParallelism()); 1 runs the server in a single process. Workers share the UDP sockets; each request, response, ACK and CANCEL is handled by the worker that holds its transaction, and registrations are shared. TCP, TLS and WebSocket connections are all held by the first worker.',
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
        persist_bindings: boolean({
          default: true,
          description:
            'Write bindings to the store (write-behind, in batches) and load them at start, so registrations survive a restart (Kamailio usrloc db_mode 2). false keeps them in memory only (db_mode 0): cheaper per REGISTER, but after a restart no user is reachable until their phone registers again.',
        }),
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
    messaging: object(
      {
        max_body: integer({
          min: 1,
          max: 1048576,
          unit: 'octets',
          default: 16384,
          description:
            'The largest MESSAGE body accepted (RFC 3428 pager mode); larger ones get 413 Request Entity Too Large. Longer content belongs in a session (MSRP); the limit also bounds what one user\'s offline messages can take: `offline.max_per_user` times this.',
        }),
        max_udp_body: integer({
          min: 0,
          max: 65535,
          unit: 'octets',
          default: 1300,
          description:
            'The largest MESSAGE body forwarded to a registered contact that can be reached over UDP only (registered over UDP, contact without transport=tcp/tls): RFC 3428 §9 keeps MESSAGEs under 1300 octets where a hop is not congestion-controlled (the RFC 3261 §18.1.1 figure). Such contacts are left out of larger MESSAGEs, and 413 is the answer when no contact is left. 0 turns the rule off.',
        }),
        offline: object(
          {
            enabled: boolean({
              default: true,
              description:
                'Store MESSAGEs for users without a binding (202 Accepted; ctx.storeOffline() in scripts) and deliver them, oldest first with a Date header, when the user registers (Kamailio msilo). A message is deleted after a 2xx from the recipient only.',
            }),
            max_per_user: integer({ min: 1, max: 100000, unit: 'messages', default: 100, description: 'Messages kept for one user; when full, a MESSAGE for the offline user gets 480 as without the store.' }),
            expire_sec: integer({ min: 60, max: 31536000, unit: 'seconds', default: 604800, description: 'How long an undelivered message is kept (7 days by default); expired ones are deleted undelivered.' }),
          },
          { description: 'Offline store-and-forward of MESSAGEs (persisted in the SQLite store).' },
        ),
      },
      { description: 'Instant messages (MESSAGE, RFC 3428): size limits and offline delivery.' },
    ),
    presence: object(
      {
        enabled: boolean({
          default: true,
          description: 'Serve presence (SIMPLE): PUBLISH (RFC 3903) and SUBSCRIBE/NOTIFY for the presence and presence.winfo event packages of local users (RFC 3856, RFC 3857). When false these requests go to the users\' devices like any other.',
        }),
        default_policy: choice(['same-domain', 'allow', 'pending', 'polite-block', 'block'], {
          default: 'same-domain',
          description:
            'Who may watch a user that has no rule for the watcher (`sipline presence allow|block|polite-block|pending`): same-domain allows watchers of the user\'s own domain and holds others pending (visible to the user in presence.winfo); allow, pending, polite-block (accepted, shown offline) or block (403) apply to everyone.',
        }),
        publish: object(
          {
            default_expires: integer({ min: 1, max: 4294967295, unit: 'seconds', default: 3600, description: 'How long a publication lasts when the PUBLISH asks for no Expires.' }),
            min_expires: integer({ min: 1, max: 4294967295, unit: 'seconds', default: 60, description: 'Shorter requested expiries get 423 Interval Too Brief with this Min-Expires (RFC 3903 §6).' }),
            max_expires: integer({ min: 1, max: 4294967295, unit: 'seconds', default: 7200, description: 'Longer requested expiries are cut to this.' }),
          },
          { description: 'Publications (PUBLISH, RFC 3903).' },
        ),
        subscribe: object(
          {
            default_expires: integer({ min: 1, max: 4294967295, unit: 'seconds', default: 3600, description: 'How long a subscription lasts when the SUBSCRIBE asks for no Expires (RFC 3856 §6.4).' }),
            min_expires: integer({ min: 1, max: 4294967295, unit: 'seconds', default: 60, description: 'Shorter requested expiries get 423 Interval Too Brief with this Min-Expires (RFC 6665 §4.2.1.1).' }),
            max_expires: integer({ min: 1, max: 4294967295, unit: 'seconds', default: 7200, description: 'Longer requested expiries are cut to this.' }),
          },
          { description: 'Subscriptions (SUBSCRIBE, RFC 6665).' },
        ),
        from_registration: boolean({
          default: false,
          description: 'Presence from registration (Kamailio pua_usrloc): a user with live bindings and no publication appears online, with a tuple per registered contact, and offline once unregistered.',
        }),
        domains: record(
          domainName('A domain name.'),
          object(
            { from_registration: boolean({ description: 'Presence from registration for this domain; the global value when absent.' }) },
            { description: 'Presence settings for one domain.' },
          ),
          { description: 'Per-domain overrides of `from_registration`, by domain name.' },
        ),
      },
      { description: 'The presence server (SIMPLE): publications, subscriptions and watcher authorization.' },
    ),
    timers: object(
      {
        t1: integer({ min: 1, max: 60000, unit: 'milliseconds', default: 500, description: 'T1, the round-trip time estimate (RFC 3261 §17.1.1.1).' }),
        t2: integer({ min: 1, max: 600000, unit: 'milliseconds', default: 4000, description: 'T2, the longest retransmission interval for non-INVITE requests and INVITE responses.' }),
        t4: integer({ min: 1, max: 600000, unit: 'milliseconds', default: 5000, description: 'T4, how long a message may stay in the network.' }),
        linger: integer({
          min: 1000,
          max: 600000,
          unit: 'milliseconds',
          description:
            'How long a transaction that has ended stays to absorb retransmissions (Timers D, J, L and M). Absent: the RFC values, 64*T1 (32 s). 5000 is what Kamailio does (its wait timer): far less state to hold at high call rates; a retransmission arriving later is handled as a new request (a proxy forwards it again, a late 2xx is forwarded statelessly).',
        }),
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
    security: object(
      {
        flood: object(
          {
            requests: integer({
              min: 0,
              max: 1_000_000,
              unit: 'requests',
              default: 200,
              description: 'Requests one source address may send within `window_sec`; a source above it is banned (Kamailio pike). 0 turns flood protection off. Trusted peers are exempt.',
            }),
            window_sec: integer({ min: 1, max: 3600, unit: 'seconds', default: 2, description: 'The sliding window the request rate is measured over.' }),
            ban_sec: integer({ min: 1, max: 86400, unit: 'seconds', default: 300, description: 'How long a source that flooded stays banned.' }),
            action: choice(['drop', '503'], {
              default: 'drop',
              description: 'What a banned source gets: drop answers nothing and costs a map lookup per datagram; 503 parses its requests to answer 503 with Retry-After (the ban\'s rest); its stream connections are closed either way.',
            }),
          },
          { description: 'Flood protection: a per-source request rate limit with a temporary ban list.' },
        ),
        auth_failures: object(
          {
            max_failures: integer({
              min: 0,
              max: 10000,
              unit: 'failures',
              default: 5,
              description: 'Failed authentications (wrong password, unknown user) within `window_sec` that block a source address; a user is blocked after twice as many. 0 turns brute-force protection off.',
            }),
            window_sec: integer({ min: 1, max: 86400, unit: 'seconds', default: 60, description: 'The window failures are counted in.' }),
            block_sec: integer({ min: 1, max: 86400, unit: 'seconds', default: 60, description: 'The first block; each further block of the same user or source lasts twice as long.' }),
            max_block_sec: integer({ min: 1, max: 604800, unit: 'seconds', default: 3600, description: 'The longest block.' }),
          },
          { description: 'Brute-force protection for digest authentication: while blocked, attempts get the same challenge as a wrong password and are not verified.' },
        ),
        max_calls_per_user: integer({
          min: 0,
          max: 100000,
          unit: 'calls',
          default: 0,
          description: 'Concurrent calls (INVITE until BYE) an authenticated user may have; more get 403. 0 is no limit.',
        }),
        trusted_peers: list(trustedPeer, {
          default: [],
          type: 'list of mappings {address, transport, port, group}',
          description: 'Peers trusted by source address (Kamailio permissions), in addition to `sipline peer add`: the default script lets them call and relay without digest authentication, flood protection and the connection limit exempt them.',
        }),
      },
      { description: 'Protection against floods, password guessing and toll fraud.' },
    ),
    limits: object(
      {
        max_message_size: integer({ min: 1500, max: 1048576, unit: 'octets', default: 65535, description: 'The largest message accepted on a stream transport (a larger one closes the connection); UDP is bounded by the datagram.' }),
        max_headers: integer({ min: 16, max: 10000, unit: 'header fields', default: 256, description: 'The most header fields a message may have.' }),
        max_vias: integer({ min: 2, max: 1000, unit: 'Via values', default: 70, description: 'The most Via values a request may carry (as many hops as Max-Forwards allows); more get 400.' }),
        max_connections_per_source: integer({
          min: 1,
          max: 100000,
          unit: 'connections',
          default: 100,
          description: 'The most TCP, TLS and WebSocket connections one source address may have open; more are closed at accept. Trusted peers are exempt.',
        }),
        idle_timeout_sec: integer({ min: 1, max: 86400, unit: 'seconds', default: 120, description: 'A stream connection without traffic for this long is closed.' }),
        message_timeout_sec: integer({
          min: 1,
          max: 3600,
          unit: 'seconds',
          default: 10,
          description: 'A message on a stream must be complete this long after its first octet, or the connection is closed (slow senders, slowloris).',
        }),
      },
      { description: 'Limits on what a peer can make the server hold.' },
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
    tls: object(
      {
        certificate: pemFile('The server certificate (PEM, chain included) of the tls and wss listeners, also shown to TLS servers that ask us for a client certificate. `sipline cert create` makes one for development. SIGHUP reads it (and the other TLS files) again.'),
        private_key: pemFile('The private key of `certificate` (PEM, unencrypted).'),
        min_version: choice(['TLSv1.2', 'TLSv1.3'], { default: 'TLSv1.2', description: 'The oldest TLS version accepted, in and out; older clients are refused during the handshake.' }),
        domains: record(
          domainName('A server name.'),
          object(
            { certificate: pemFile('The certificate for this name (PEM).'), private_key: pemFile('Its private key (PEM).') },
            { description: 'The certificate of one server name.', required: ['certificate', 'private_key'] },
          ),
          { description: 'Certificates by server name, picked by the name a client asks for (SNI, RFC 6066 §3); `*.example.com` matches one label. Other clients get `certificate`.' },
        ),
        verify_clients: choice(['none', 'optional', 'required'], {
          default: 'none',
          description:
            'Client certificates (mutual TLS, for peering trunks): none asks for none; optional asks, accepts clients without one, and refuses a certificate that does not chain to `ca` or names no trusted peer; required refuses clients without such a certificate too.',
        }),
        ca: pemFile("CA certificates (PEM) that client certificates and the certificates of TLS servers we connect to must chain to. The system's CAs verify servers when absent."),
        trusted_peers: list(string({ description: 'A peer name.' }), {
          default: [],
          type: 'list of names',
          description: 'The peers allowed in with a client certificate: a name in its subjectAltName or subject CN. Empty: any certificate that chains to `ca`.',
        }),
        verify_server: boolean({
          default: true,
          description: 'Verify the certificate of TLS servers we connect to (sips: and transport=tls targets) against `ca` and their name or address. Turn off for development only.',
        }),
        handshake_timeout: integer({ min: 100, max: 120000, unit: 'milliseconds', default: 10000, description: 'A TLS or WebSocket handshake must finish within this time.' }),
      },
      { description: 'TLS for the tls and wss listeners and for outgoing TLS connections (RFC 3261 §26, RFC 5630). File paths are relative to the config file.' },
    ),
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
