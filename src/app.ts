import os from 'node:os';
import { join } from 'node:path';
import { warmUpCodec } from './sip/index.ts';
import { WorkerNode, type WorkerSettings } from './cluster/index.ts';
import { Counters, createLogger, type Logger, type LogLevel } from './shared/index.ts';
import { LocalIdentity, ProxyCore, RequestOriginator } from './proxy/index.ts';
import { bindingTargets, loadScript, RoutingEngine, targetsForBody, type RoutingScript, type RoutingServices } from './routing/index.ts';
import defaultScript from './routing/default-script.ts';
import rehearsalScript from './routing/rehearsal-script.ts';
import { computeHa1, DigestAuthenticator, type DigestAlgorithm } from './services/auth/index.ts';
import { DomainDirectory } from './services/domains/index.ts';
import { LocationService } from './services/location/index.ts';
import { DEFAULT_MESSAGING_POLICY, MessageSilo, type MessagingPolicy } from './services/messaging/index.ts';
import { DEFAULT_PRESENCE_POLICY, PresenceService, type DefaultPresencePolicy, type PresencePolicy } from './services/presence/index.ts';
import { DEFAULT_REGISTRAR_POLICY, Registrar, type RegistrarPolicy } from './services/registrar/index.ts';
import { DEFAULT_SECURITY_POLICY, SecurityService, type SecurityPolicy, type TrustedPeer } from './services/security/index.ts';
import { MemoryStore, SqliteStore, type Domain, type Store } from './store/index.ts';
import { rehearse } from './rehearsal.ts';
import { TransactionLayer, type TimerConfig } from './transaction/index.ts';
import { TransportLayer, type ListenSpec, type ListenerInfo, type TlsSettings } from './transport/index.ts';

/** Everything the server needs to start; the CLI fills it from the config file and flags. */
export interface ServerConfig {
  listen: ListenSpec[];
  /** Served domains; none configured or stored means the first listen address is the domain. */
  domains?: Array<{ name: string; realm?: string; aliases?: string[] }>;
  /** Where the SQLite store lives (ignored when `store` is given). */
  dataDir?: string;
  store?: Store;
  /** A routing script file (TypeScript or JavaScript), or a script object (embedding, tests); the default script otherwise. */
  script?: string | RoutingScript;
  auth?: { algorithms?: DigestAlgorithm[]; nonceLifetimeSec?: number; nonceKey?: string };
  registrar?: Partial<RegistrarPolicy> & { domains?: Record<string, Partial<RegistrarPolicy>> };
  /** Bindings: `persist` false keeps them in memory only (registrar.persist_bindings; default true). */
  location?: { persist?: boolean };
  timers?: Partial<TimerConfig>;
  /** Names of this proxy besides its listen addresses (for Route/Record-Route matching). */
  names?: string[];
  advertisedHost?: string;
  /** Certificates (PEM contents) and verification for tls/wss listeners and outgoing TLS. */
  tls?: TlsSettings;
  /** Topology hiding for every dialog forwarded statefully; `secret` keeps hidden dialogs routable across restarts. */
  topologyHiding?: { enabled?: boolean; secret?: string };
  /** Flood, brute-force and fraud protection and trusted peers: on by default (DEFAULT_SECURITY_POLICY). */
  security?: {
    flood?: Partial<SecurityPolicy['flood']>;
    authFailures?: Partial<SecurityPolicy['authFailures']>;
    maxCallsPerUser?: number;
    trustedPeers?: TrustedPeer[];
  };
  /** MESSAGE size limits and the offline store (DEFAULT_MESSAGING_POLICY where absent). */
  messaging?: Partial<Omit<MessagingPolicy, 'offline'>> & { offline?: Partial<MessagingPolicy['offline']> };
  /** The presence server (DEFAULT_PRESENCE_POLICY where absent; on unless enabled is false). */
  presence?: {
    enabled?: boolean;
    defaultPolicy?: DefaultPresencePolicy;
    publish?: Partial<Pick<PresencePolicy['publication'], 'defaultExpires' | 'minExpires' | 'maxExpires'>>;
    subscribe?: Partial<Pick<PresencePolicy['subscription'], 'defaultExpires' | 'minExpires' | 'maxExpires'>>;
    /** Presence from registration, globally and per domain. */
    fromRegistration?: boolean;
    domains?: Record<string, { fromRegistration?: boolean }>;
  };
  /** Limits on what a peer can make the server hold (the transport's defaults when absent). */
  limits?: {
    maxMessageSize?: number;
    maxHeaders?: number;
    maxVias?: number;
    maxConnectionsPerSource?: number;
    idleTimeoutSec?: number;
    messageTimeoutSec?: number;
  };
  /** This process is one worker of a server started with several (`--workers N`); set by the CLI. */
  worker?: WorkerSettings;
  /** Run the codec over synthetic messages at start so the JIT has optimized it (default true). */
  warmUp?: boolean;
  /**
   * Before opening the real listeners, carry a few hundred registrations, calls and OPTIONS through
   * a private server (src/rehearsal.ts), so that the whole request path is optimized when traffic
   * comes (default false; `sipline start` and the benchmark server turn it on).
   */
  rehearsal?: boolean;
  /**
   * @internal UDP sockets of this process alone (the rehearsal's private server): in a worker
   * process they are otherwise shared through the cluster primary by address and port.
   */
  privateSockets?: boolean;
  logLevel?: LogLevel;
  logger?: Logger;
}

export interface RunningServer {
  readonly listeners: ListenerInfo[];
  readonly counters: Counters;
  readonly store: Store;
  readonly domains: DomainDirectory;
  readonly location: LocationService;
  readonly security: SecurityService;
  /** The offline message store (Kamailio msilo). */
  readonly messages: MessageSilo;
  /** The presence server; undefined when presence.enabled is false. */
  readonly presence: PresenceService | undefined;
  readonly dataPath: string | null;
  /** Worker mode: this process's part of the server; undefined in a single process. */
  readonly worker: WorkerNode | undefined;
  /** Loads the script file again (or the default script); new requests use it. */
  reloadScript(): Promise<void>;
  /** New TLS certificates (read again from their files by the caller): new connections get them. */
  reloadCertificates(settings: TlsSettings): void;
  stop(): Promise<void>;
}

/** The SQLite file of a data directory (the server and the provisioning commands share it). */
export function storePath(dataDir: string): string {
  return join(dataDir, 'sipline.sqlite');
}

function resolveScript(script: string | RoutingScript | undefined): Promise<RoutingScript> | RoutingScript {
  if (script === undefined) return defaultScript;
  return typeof script === 'string' ? loadScript(script) : script;
}

/**
 * The private server of the rehearsal: loopback UDP, an in-memory store with its users, the
 * default script with stateless answers to some pings (src/routing/rehearsal-script.ts), silent.
 */
async function startRehearsalServer(domain: string, usernames: string[], password: string): Promise<RunningServer> {
  const store = new MemoryStore();
  await store.importSubscribers(usernames.map((username) => ({ username, domain, ha1Md5: computeHa1('MD5', username, domain, password), ha1Sha256: computeHa1('SHA-256', username, domain, password) })));
  return startServer({
    listen: [{ protocol: 'udp', host: '127.0.0.1', port: 0 }],
    domains: [{ name: domain }],
    store,
    script: rehearsalScript,
    // in a worker, a socket on 127.0.0.1:0 would otherwise be shared with every other worker's
    privateSockets: true,
    logLevel: 'silent',
    // one source sends it everything: a flood by design
    security: { flood: { requests: 0 } },
  });
}

/** The composition root: the only place that picks concrete adapters and wires the layers. */
export async function startServer(config: ServerConfig): Promise<RunningServer> {
  const logger = config.logger ?? createLogger({ level: config.logLevel ?? 'info' });
  const rehearsed = config.rehearsal === true;
  if (rehearsed) {
    const result = await rehearse(startRehearsalServer);
    logger.info({ completed: result.completed, failed: result.failed, planned: result.planned, ms: result.ms }, 'start-up rehearsal done');
  }
  const counters = new Counters();
  const dataPath = config.store ? null : storePath(config.dataDir ?? 'data');
  const store = config.store ?? new SqliteStore(dataPath as string);

  const worker = config.worker === undefined ? undefined : new WorkerNode(config.worker, logger);
  await worker?.open();
  const security = new SecurityService(securityPolicy(config.security), { store, counters, logger });
  await security.start();
  const limits = config.limits ?? {};
  // optimize the codec before the first datagram: a cold start into full load overflows the socket buffer
  // (the rehearsal's private server did it, and then ran the codec on real datagrams)
  if (config.warmUp !== false && !rehearsed) warmUpCodec();
  const transport = new TransportLayer({
    listen: config.listen,
    counters,
    logger,
    advertisedHost: config.advertisedHost,
    tls: config.tls,
    sourceGuard: security.flood,
    maxMessageSize: limits.maxMessageSize,
    maxHeaders: limits.maxHeaders,
    maxVias: limits.maxVias,
    maxConnectionsPerSource: limits.maxConnectionsPerSource,
    tcpIdleTimeoutMs: limits.idleTimeoutSec === undefined ? undefined : limits.idleTimeoutSec * 1000,
    messageTimeoutMs: limits.messageTimeoutSec === undefined ? undefined : limits.messageTimeoutSec * 1000,
    workers: worker?.transportHooks(),
    exclusiveUdp: config.privateSockets,
    startHeld: true,
  });
  worker?.attachTransport(transport);
  await transport.start();
  const listeners = transport.listeners();
  // A listener on 0.0.0.0 or :: answers on every address of the machine: all of them name this
  // server (Kamailio's auto aliases), so that a request to sip:127.0.0.1 is for us, not relayed.
  const wildcardFamilies = new Set(listeners.filter((l) => l.host === '0.0.0.0' || l.host === '::').map((l) => (l.host === '::' ? 'IPv6' : 'IPv4')));
  const interfaceAddresses = Object.values(os.networkInterfaces())
    .flatMap((list) => list ?? [])
    .filter((a) => wildcardFamilies.has(a.family))
    .map((a) => a.address);
  const localNames = [...new Set([...listeners.flatMap((l) => [l.advertisedHost, l.host]), ...interfaceAddresses].filter((h) => h !== '0.0.0.0' && h !== '::'))];

  const configuredDomains: Domain[] = (config.domains ?? []).map((d) => ({ name: d.name.toLowerCase(), realm: d.realm ?? d.name.toLowerCase(), aliases: d.aliases ?? [] }));
  const storedDomains = await store.listDomains();
  if (configuredDomains.length === 0 && storedDomains.length === 0) {
    const name = listeners[0].advertisedHost;
    configuredDomains.push({ name, realm: name, aliases: [] });
  }
  const domains = new DomainDirectory(store, configuredDomains, localNames);
  await domains.load();

  // in worker mode every worker holds the whole table; changes are copied between them
  const location = new LocationService(store, { logger, persistExpiry: worker?.isHome ?? true, persist: config.location?.persist });
  const restored = await location.start();
  worker?.shareBindings(location);
  const registrar = new Registrar(location);
  const auth = new DigestAuthenticator({
    algorithms: config.auth?.algorithms ?? ['MD5'],
    nonceLifetimeMs: (config.auth?.nonceLifetimeSec ?? 300) * 1000,
    // workers share the key: a nonce one of them issued is valid in all
    nonceKey: config.auth?.nonceKey ?? worker?.derivedKey('nonce'),
  });
  const policyFor = (domain: Domain): RegistrarPolicy => ({
    ...DEFAULT_REGISTRAR_POLICY,
    ...stripDomains(config.registrar),
    ...(config.registrar?.domains?.[domain.name] ?? {}),
  });

  const transactions = new TransactionLayer(transport, { onRequest: () => {} }, { timers: config.timers, autoTrying: 'immediate', counters, logger });
  const identity = new LocalIdentity(listeners, [...(config.names ?? []), ...interfaceAddresses]);
  const proxy = new ProxyCore(transactions, identity, {
    logger,
    hideTopology: config.topologyHiding?.enabled ?? false,
    topologySecret: config.topologyHiding?.secret ?? worker?.derivedKey('topology').toString('hex'),
    flowTokenSecret: worker?.derivedKey('flow'),
  });
  transactions.setUser(proxy.user);

  // Offline messages are delivered when their recipient registers: to every contact it has then,
  // as a proxy forks a MESSAGE, with the size rule of checkMessageSize() (413: no contact can take it).
  const messagingPolicy = messagingSettings(config.messaging);
  const originator = new RequestOriginator(transactions, logger);
  const messages = new MessageSilo(store, {
    policy: messagingPolicy.offline,
    logger,
    deliver: async (aor, request) => {
      const registered = bindingTargets(location, aor);
      const targets = targetsForBody(registered, request.body.length, messagingPolicy.maxUdpBody);
      if (registered.length > 0 && targets.length === 0) return 413;
      return (await originator.send(request, targets)).status;
    },
  });
  // worker mode: MESSAGE goes to the home worker (src/cluster/datagram-owner.ts), which alone
  // delivers stored messages; the others would deliver the same stored rows again
  if (worker === undefined || worker.isHome) await messages.start();
  location.onChange((aor, change) => {
    if (change === 'saved') messages.registered(aor);
  });

  // The presence server originates NOTIFYs through client transactions of its own, with our
  // listener address as Contact; it follows registrations for presence from registration.
  let presence: PresenceService | undefined;
  if (config.presence?.enabled !== false) {
    presence = new PresenceService(
      {
        wheel: transactions.wheel,
        rules: store,
        transport: {
          send: (request, destination, done) =>
            void transactions.sendRequest(request, destination, { onResponse: (r) => r.status >= 200 && done(r.status) }),
        },
        localContact: (protocol, family) => {
          const uri = identity.recordRouteUri(protocol, family);
          uri.params.delete('lr');
          return uri.toString();
        },
        registrations: (aor) => location.lookup(aor).map((b) => ({ contact: b.contact, q: b.q })),
        logger,
      },
      presenceSettings(config.presence),
    );
    await presence.start();
    const watching = presence;
    location.onChange((aor) => watching.registrationChanged(aor));
  }

  const services: RoutingServices = {
    domains,
    auth,
    subscribers: store,
    location,
    registrar,
    registrarPolicy: policyFor,
    security,
    messaging: { policy: messagingPolicy, offline: messages },
    presence,
    isLocalUri: (uri) => identity.isLocalUri(uri),
    logger,
  };
  const engine = new RoutingEngine(await resolveScript(config.script), services, logger);
  proxy.onRequest = (request) => engine.handle(request);

  // Provisioning from the CLI (another process) shows up as a change of the store: reload domains.
  let marker = await store.changeMarker();
  const watch = setInterval(() => {
    store
      .changeMarker()
      .then(async (m) => {
        if (m === marker) return;
        marker = m;
        await domains.load();
        await security.reloadPeers();
        await presence?.reloadRules();
      })
      .catch((err: Error) => logger.warn({ err: err.message }, 'cannot read the store'));
  }, 1000);
  watch.unref();

  transport.release();
  logger.info({ listeners: listeners.map((l) => `${l.protocol}:${l.host}:${l.port}`), domains: domains.list().map((d) => d.name), bindings: restored }, 'sipline started');

  return {
    listeners,
    counters,
    store,
    domains,
    location,
    security,
    messages,
    presence,
    dataPath,
    worker,
    async reloadScript() {
      engine.replace(await resolveScript(config.script));
      logger.info({ script: typeof config.script === 'string' ? config.script : config.script ? '(given object)' : '(default)' }, 'routing script reloaded');
    },
    reloadCertificates(settings) {
      transport.reloadTls(settings);
      logger.info({}, 'TLS certificates reloaded');
    },
    async stop() {
      clearInterval(watch);
      security.stop();
      messages.stop();
      presence?.stop();
      transactions.shutdown();
      await transport.stop();
      await location.stop();
      await store.close();
      await worker?.close();
    },
  };
}

function stripDomains(policy: ServerConfig['registrar']): Partial<RegistrarPolicy> {
  if (policy === undefined) return {};
  const { domains: _domains, ...rest } = policy;
  return rest;
}

function messagingSettings(given: ServerConfig['messaging']): MessagingPolicy {
  const d = DEFAULT_MESSAGING_POLICY;
  return {
    maxBody: given?.maxBody ?? d.maxBody,
    maxUdpBody: given?.maxUdpBody ?? d.maxUdpBody,
    offline: { ...d.offline, ...given?.offline },
  };
}

function presenceSettings(given: ServerConfig['presence']): PresencePolicy {
  const d = DEFAULT_PRESENCE_POLICY;
  const global = given?.fromRegistration ?? false;
  const domains = given?.domains ?? {};
  return {
    publication: { ...d.publication, ...given?.publish },
    subscription: { ...d.subscription, ...given?.subscribe },
    defaultPolicy: given?.defaultPolicy ?? d.defaultPolicy,
    fromRegistration: (domain) => domains[domain]?.fromRegistration ?? global,
  };
}

function securityPolicy(given: ServerConfig['security']): SecurityPolicy {
  const d = DEFAULT_SECURITY_POLICY;
  return {
    flood: { ...d.flood, ...given?.flood },
    authFailures: { ...d.authFailures, ...given?.authFailures },
    maxCallsPerUser: given?.maxCallsPerUser ?? d.maxCallsPerUser,
    trustedPeers: given?.trustedPeers ?? d.trustedPeers,
  };
}
