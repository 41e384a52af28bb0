import { availableParallelism } from 'node:os';
import { startServer, type RunningServer, type ServerConfig } from '../app.ts';
import { runPrimary, workerSettingsFromEnvironment, type PrimaryHandle } from '../cluster/index.ts';
import { formatListenSpec } from '../config/index.ts';
import { createLogger, type Logger } from '../shared/index.ts';
import { loadContext, type Context, type StoreOptions } from './context.ts';
import { CommandError } from './errors.ts';
import type { Output } from './output.ts';
import { configuredDomains, tlsSettings, toServerConfig } from './server-config.ts';
import { writeServerState } from './server-state.ts';

export interface StartOptions extends StoreOptions {
  listen?: string[];
  domain?: string[];
  script?: string;
  workers?: string;
  logLevel?: string;
  logFormat?: string;
}

/** What runs after `start`: one server in this process, or the primary of several worker processes. */
export type Started = { kind: 'server'; server: RunningServer } | { kind: 'primary'; primary: PrimaryHandle } | { kind: 'worker'; server: RunningServer };

/**
 * Starts the server and keeps it running: SIGINT/SIGTERM stop it (exit 0), SIGHUP reloads the
 * routing script. Prints where it listens, the domains it serves and where its data lives.
 * With more than one worker (`workers`, default one per core) this process becomes the primary
 * of worker processes (src/cluster), each of which runs this command again as a worker.
 */
export async function start(options: StartOptions, out: Output): Promise<Started> {
  const ctx = loadContext(options, {
    listen: options.listen,
    domains: options.domain,
    script: options.script,
    workers: options.workers,
    'log.level': options.logLevel,
    'log.format': options.logFormat,
  });
  const serverConfig = toServerConfig(ctx.config);
  const logger = createLogger({ level: ctx.config.log.level, format: ctx.config.log.format });
  const worker = workerSettingsFromEnvironment();
  if (worker !== undefined) return { kind: 'worker', server: await startWorker({ ...serverConfig, logger, worker }, ctx, logger) };
  const workers = ctx.config.workers === 0 ? availableParallelism() : ctx.config.workers;
  if (workers > 1) return { kind: 'primary', primary: await startPrimary(workers, ctx, logger, out) };
  return { kind: 'server', server: await startSingle({ ...serverConfig, logger }, ctx, logger, out) };
}

/** Signal handling shared by the single process and the primary. */
function handleSignals(logger: Logger, stop: () => Promise<void>, reload: () => void): { started(): void; abandon(): void } {
  let ready = false;
  let stopping = false;
  const shutDown = () =>
    stop().then(
      () => process.exit(0),
      (err: Error) => {
        logger.error({ err: err.message }, 'error while stopping');
        process.exit(1);
      },
    );
  const onStop = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1); // a second signal: do not wait any longer
    stopping = true;
    logger.info({ signal }, 'stopping');
    if (ready) shutDown();
  };
  const onReload = () => {
    if (ready) reload();
  };
  process.on('SIGINT', onStop);
  process.on('SIGTERM', onStop);
  process.on('SIGHUP', onReload);
  return {
    // signals count from the start: one that came while the server started stops it once started
    started() {
      ready = true;
      if (stopping) shutDown();
    },
    abandon() {
      process.off('SIGINT', onStop);
      process.off('SIGTERM', onStop);
      process.off('SIGHUP', onReload);
    },
  };
}

async function startSingle(config: ServerConfig, ctx: Context, logger: Logger, out: Output): Promise<RunningServer> {
  let server: RunningServer | undefined;
  const signals = handleSignals(
    logger,
    () => (server as RunningServer).stop(),
    () => {
      logger.info({ script: ctx.config.script ?? '(default)' }, 'SIGHUP: reloading the routing script and the TLS certificates');
      if (server !== undefined) void reload(server, ctx, logger);
    },
  );
  try {
    // the rehearsal optimizes the request path before the real listeners open (src/rehearsal.ts)
    server = await startServer({ ...config, rehearsal: config.rehearsal ?? true });
  } catch (err) {
    signals.abandon();
    throw new CommandError(`cannot start: ${(err as Error).message}`);
  }
  const listen = server.listeners.map((l) => formatListenSpec({ protocol: l.protocol, host: l.host, port: l.port }));
  writeServerState(ctx.dataDir, { pid: process.pid, startedAt: new Date().toISOString(), listen, domains: configuredDomains(ctx.config) });
  for (const line of await describe(server, config, ctx)) out.line(line);
  signals.started();
  return server;
}

async function startPrimary(workers: number, ctx: Context, logger: Logger, out: Output): Promise<PrimaryHandle> {
  let primary: PrimaryHandle | undefined;
  const report = (reports: Array<Record<string, number> | undefined>) => {
    reports.forEach((counters, index) => {
      if (counters === undefined) return;
      const n = (name: string) => counters[name] ?? 0;
      out.line(
        `sipline worker ${index}: ${n('transport.udp.received') - n('transport.udp.handed_in')} datagrams read, ${n('transport.udp.handed_out')} handed to other workers, ${n('transport.udp.handed_in')} handed in`,
      );
    });
  };
  const signals = handleSignals(
    logger,
    async () => report(await (primary as PrimaryHandle).stop()),
    () => {
      logger.info({ script: ctx.config.script ?? '(default)' }, 'SIGHUP: reloading the routing script in every worker');
      primary?.reload();
    },
  );
  try {
    primary = await runPrimary({
      workers,
      logger,
      onFatal: (reason) => {
        logger.fatal({ reason }, 'stopping');
        void primary?.stop().finally(() => process.exit(1));
      },
    });
  } catch (err) {
    signals.abandon();
    throw new CommandError(`cannot start: ${(err as Error).message}`);
  }
  const listen = primary.listeners.map((l) => formatListenSpec({ protocol: l.protocol, host: l.host, port: l.port }));
  writeServerState(ctx.dataDir, { pid: process.pid, startedAt: new Date().toISOString(), listen, domains: configuredDomains(ctx.config) });
  for (const line of primary.summary) out.line(line);
  out.line(`sipline runs ${workers} worker processes`);
  signals.started();
  return primary;
}

/** A worker process: serves until the primary says stop (signals are the primary's business). */
async function startWorker(config: ServerConfig, ctx: Context, logger: Logger): Promise<RunningServer> {
  // a terminal's Ctrl-C, or a pkill of the command line, reaches the workers too: the primary
  // stops them in order (each flushes its bindings); a worker whose primary is gone exits
  // (node:cluster exits a worker whose IPC channel closes)
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => {});
  let server: RunningServer;
  try {
    // each worker rehearses on sockets of its own before it serves (src/rehearsal.ts)
    server = await startServer({ ...config, rehearsal: config.rehearsal ?? true });
  } catch (err) {
    const reason = (err as Error).message;
    logger.fatal({ err: reason, worker: config.worker?.index }, 'cannot start');
    // the primary says why it cannot start
    if (config.worker === undefined) process.exit(1);
    config.worker.channel.send({ t: 'failed', index: config.worker.index, reason }, () => process.exit(1));
    return new Promise<never>(() => {});
  }
  const node = server.worker;
  node?.ready(
    server.listeners,
    node.isHome ? await describe(server, config, ctx) : [],
    async () => {
      await server.stop();
      return server.counters.snapshot();
    },
    () => reload(server, ctx, logger),
  );
  return server;
}

/** SIGHUP: the TLS certificates read again from their files, and the routing script loaded again; what fails keeps the previous one. */
async function reload(server: RunningServer, ctx: Context, logger: Logger): Promise<void> {
  try {
    const settings = tlsSettings(ctx.config.tls);
    if (settings !== undefined) server.reloadCertificates(settings);
  } catch (err) {
    logger.error({ err: (err as Error).message }, 'cannot reload the TLS certificates; the previous ones stay');
  }
  await server.reloadScript().catch((err: Error) => logger.error({ err: err.message, script: ctx.config.script }, 'cannot reload the routing script; the previous one stays'));
}

/** The lines `sipline start` prints once the server serves. */
async function describe(server: RunningServer, config: ServerConfig, ctx: Context): Promise<string[]> {
  const lines = server.listeners.map((l) => `sipline listening on ${formatListenSpec({ protocol: l.protocol, host: l.host, port: l.port })}`);
  const domains = server.domains.list();
  const fallback = (config.domains ?? []).length === 0 && (await server.store.listDomains()).length === 0;
  lines.push(
    `sipline serves ${domains.length === 1 ? 'domain' : 'domains'} ${domains.map((d) => (d.realm === d.name ? d.name : `${d.name} (realm ${d.realm})`)).join(', ')}` +
      (fallback ? ' (the first listen address; add domains with `sipline domain add` or --domain)' : ''),
  );
  lines.push(`sipline data in ${ctx.dataDir} (store ${server.dataPath})`);
  lines.push(`sipline routing script: ${ctx.config.script ?? 'the default script'}${ctx.configFile === null ? '' : `; config ${ctx.configFile}`}`);
  return lines;
}
