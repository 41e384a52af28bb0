import { startServer, type RunningServer } from '../app.ts';
import { formatListenSpec } from '../config/index.ts';
import { createLogger } from '../shared/index.ts';
import { loadContext, type StoreOptions } from './context.ts';
import { CommandError } from './errors.ts';
import type { Output } from './output.ts';
import { configuredDomains, toServerConfig } from './server-config.ts';
import { writeServerState } from './server-state.ts';

export interface StartOptions extends StoreOptions {
  listen?: string[];
  domain?: string[];
  script?: string;
  logLevel?: string;
  logFormat?: string;
}

/**
 * Starts the server and keeps it running: SIGINT/SIGTERM stop it (exit 0), SIGHUP reloads the
 * routing script. Prints where it listens, the domains it serves and where its data lives.
 */
export async function start(options: StartOptions, out: Output): Promise<RunningServer> {
  const ctx = loadContext(options, {
    listen: options.listen,
    domains: options.domain,
    script: options.script,
    'log.level': options.logLevel,
    'log.format': options.logFormat,
  });
  const serverConfig = toServerConfig(ctx.config);
  const logger = createLogger({ level: ctx.config.log.level, format: ctx.config.log.format });
  // signals count from now on: one that comes while the server starts stops it once started
  let server: RunningServer | undefined;
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1); // a second signal: do not wait any longer
    stopping = true;
    logger.info({ signal }, 'stopping');
    if (server !== undefined) shutDown(server);
  };
  const shutDown = (running: RunningServer) =>
    running.stop().then(
      () => process.exit(0),
      (err: Error) => {
        logger.error({ err: err.message }, 'error while stopping');
        process.exit(1);
      },
    );
  const reload = () => {
    if (server === undefined) return;
    logger.info({ script: ctx.config.script ?? '(default)' }, 'SIGHUP: reloading the routing script');
    server.reloadScript().catch((err: Error) => logger.error({ err: err.message, script: ctx.config.script }, 'cannot reload the routing script; the previous one stays'));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  process.on('SIGHUP', reload);
  try {
    server = await startServer({ ...serverConfig, logger });
  } catch (err) {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    process.off('SIGHUP', reload);
    throw new CommandError(`cannot start: ${(err as Error).message}`);
  }
  const listen = server.listeners.map((l) => formatListenSpec({ protocol: l.protocol, host: l.host, port: l.port }));
  writeServerState(ctx.dataDir, { pid: process.pid, startedAt: new Date().toISOString(), listen, domains: configuredDomains(ctx.config) });

  for (const l of listen) out.line(`sipline listening on ${l}`);
  const domains = server.domains.list();
  const fallback = (serverConfig.domains ?? []).length === 0 && (await server.store.listDomains()).length === 0;
  out.line(
    `sipline serves ${domains.length === 1 ? 'domain' : 'domains'} ${domains.map((d) => (d.realm === d.name ? d.name : `${d.name} (realm ${d.realm})`)).join(', ')}` +
      (fallback ? ' (the first listen address; add domains with `sipline domain add` or --domain)' : ''),
  );
  out.line(`sipline data in ${ctx.dataDir} (store ${server.dataPath})`);
  out.line(`sipline routing script: ${ctx.config.script ?? 'the default script'}${ctx.configFile === null ? '' : `; config ${ctx.configFile}`}`);

  if (stopping) shutDown(server);
  return server;
}
