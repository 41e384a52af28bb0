import cluster, { type Worker } from 'node:cluster';
import { randomBytes } from 'node:crypto';
import type { Logger } from '../shared/index.ts';
import type { ListenerInfo, ListenSpec } from '../transport/index.ts';
import { HOME_WORKER } from './datagram-owner.ts';
import type { FromPrimary, ToPrimary, WorkerReport } from './messages.ts';
import type { WorkerChannel, WorkerSettings } from './worker-node.ts';

const ENV_INDEX = 'SIPLINE_WORKER_INDEX';
const ENV_COUNT = 'SIPLINE_WORKER_COUNT';
const ENV_SECRET = 'SIPLINE_CLUSTER_SECRET';
const ENV_STREAMS = 'SIPLINE_STREAM_LISTENERS';
const ENV_PEERS = 'SIPLINE_CLUSTER_PEERS';

export interface PrimaryOptions {
  workers: number;
  logger: Logger;
  /** A worker died after start-up and could not be replaced: the server cannot go on. */
  onFatal(reason: string): void;
}

export interface PrimaryHandle {
  /** The server's listeners (the home worker's: every UDP socket is shared, every stream listener is its). */
  readonly listeners: ListenerInfo[];
  readonly workers: number;
  /** What the home worker says of the server once it serves (listeners, domains, data, script). */
  readonly summary: string[];
  /** SIGHUP: every worker reloads its routing script. */
  reload(): void;
  /** Stops every worker; resolves with what each reported (by index). */
  stop(): Promise<Array<WorkerReport['counters'] | undefined>>;
}

/** Restarts of crashed workers allowed per minute before the server gives up. */
const MAX_RESTARTS_PER_MINUTE = 5;

/**
 * The primary process of worker mode: forks the workers (the home worker first, so the others
 * learn its stream listeners and bound ports), tells each the others' link ports, relays binding
 * changes between them, replaces a worker that dies, and stops them all. It handles no SIP.
 */
export async function runPrimary(options: PrimaryOptions): Promise<PrimaryHandle> {
  const { workers: count, logger } = options;
  const secret = randomBytes(32).toString('hex');
  const slots: Array<Worker | undefined> = new Array(count).fill(undefined);
  /** Link ports of the workers up (they get binding changes), and of those announced to the others (they are handed datagrams). */
  const ports: number[] = new Array(count).fill(0);
  const announced: number[] = new Array(count).fill(0);
  /** Resolves the start of a worker that waits for its snapshot. */
  const whenSynced: Array<(() => void) | undefined> = new Array(count).fill(undefined);
  const reports: Array<WorkerReport['counters'] | undefined> = new Array(count).fill(undefined);
  let streams: ListenSpec[] = [];
  let listeners: ListenerInfo[] = [];
  let summary: string[] = [];
  let stopping = false;
  const restarts: number[] = [];

  const broadcast = (message: FromPrimary, except?: number) => {
    for (let i = 0; i < count; i++) if (i !== except && ports[i] > 0) slots[i]?.send(message);
  };
  const announce = (index: number) => {
    announced[index] = ports[index];
    broadcast({ t: 'peers', ports: [...announced] });
  };

  const fork = (index: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const worker = cluster.fork({
        [ENV_INDEX]: String(index),
        [ENV_COUNT]: String(count),
        [ENV_SECRET]: secret,
        [ENV_STREAMS]: JSON.stringify(streams),
        // the workers serving already: a new one hands them what it reads from its first datagram
        [ENV_PEERS]: JSON.stringify(announced),
      });
      slots[index] = worker;
      let ready = false;
      let failure: string | undefined;
      const started = () => {
        ready = true;
        resolve();
      };
      worker.on('message', (message: ToPrimary) => {
        switch (message.t) {
          case 'ready': {
            ports[index] = message.linkPort;
            if (index === HOME_WORKER) {
              listeners = message.listeners;
              summary = message.summary;
            }
            // A worker that starts after another (or replaces a dead one) first gets the bindings
            // the others made meanwhile (a store of memory has none, SQLite may lag by a flush);
            // until then it hands what it reads to the others, and none hands it anything.
            const donor = announced.findIndex((p, i) => p > 0 && i !== index);
            if (donor < 0) {
              announce(index);
              worker.send({ t: 'synced' } satisfies FromPrimary);
              started();
            } else {
              worker.send({ t: 'peers', ports: [...announced] } satisfies FromPrimary);
              whenSynced[index] = started;
              slots[donor]?.send({ t: 'snapshot', to: index } satisfies FromPrimary);
            }
            break;
          }
          case 'snapshot-end':
            if (slots[message.to] === undefined || ports[message.to] === 0) break;
            slots[message.to]?.send({ t: 'synced' } satisfies FromPrimary);
            announce(message.to);
            whenSynced[message.to]?.();
            whenSynced[message.to] = undefined;
            break;
          case 'bindings':
            if (message.to === undefined) broadcast({ t: 'bindings', from: message.from, changes: message.changes }, index);
            else if (ports[message.to] > 0) slots[message.to]?.send({ t: 'bindings', from: message.from, changes: message.changes } satisfies FromPrimary);
            break;
          case 'stopped':
            reports[index] = message.counters;
            break;
          case 'failed':
            failure = message.reason;
            break;
        }
      });
      worker.on('exit', (code, signal) => {
        if (slots[index] === worker) {
          slots[index] = undefined;
          ports[index] = 0;
          announced[index] = 0;
        }
        if (!ready) {
          reject(new Error(failure ?? `worker ${index} exited while starting (${signal ?? `exit code ${code}`}); its log says why`));
          return;
        }
        if (stopping) return;
        broadcast({ t: 'peers', ports: [...announced] });
        const now = Date.now();
        while (restarts.length > 0 && restarts[0] < now - 60_000) restarts.shift();
        if (restarts.length >= MAX_RESTARTS_PER_MINUTE) {
          options.onFatal(`worker ${index} died (${signal ?? `exit code ${code}`}) and ${MAX_RESTARTS_PER_MINUTE} workers were restarted in the last minute`);
          return;
        }
        restarts.push(now);
        logger.error({ worker: index, code, signal }, 'a worker died; starting a new one');
        fork(index).catch((err: Error) => options.onFatal(err.message));
      });
    });

  const stopAll = async (): Promise<Array<WorkerReport['counters'] | undefined>> => {
    stopping = true;
    const exits = slots
      .filter((w): w is Worker => w !== undefined && !w.isDead())
      .map(
        (w) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(() => w.process.kill('SIGKILL'), 10_000);
            w.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            try {
              w.send({ t: 'stop' } satisfies FromPrimary);
            } catch {
              w.process.kill('SIGTERM');
            }
          }),
      );
    await Promise.all(exits);
    return reports;
  };

  try {
    await fork(HOME_WORKER);
    streams = listeners.filter((l) => l.protocol !== 'udp').map((l) => ({ protocol: l.protocol, host: l.host, port: l.port }));
    await Promise.all(Array.from({ length: count - 1 }, (_, i) => fork(i + 1)));
  } catch (err) {
    await stopAll();
    throw err;
  }

  return {
    get listeners() {
      return listeners;
    },
    workers: count,
    get summary() {
      return summary;
    },
    reload: () => broadcast({ t: 'reload' }),
    stop: stopAll,
  };
}

/** In a worker process of worker mode: what the primary passed it; undefined anywhere else. */
export function workerSettingsFromEnvironment(): WorkerSettings | undefined {
  if (!cluster.isWorker || process.env[ENV_INDEX] === undefined) return undefined;
  const channel: WorkerChannel = {
    send: (message, sent) => process.send?.(message, undefined, undefined, sent === undefined ? undefined : () => sent()),
    onMessage: (listener) => process.on('message', (message) => listener(message as FromPrimary)),
  };
  return {
    index: Number(process.env[ENV_INDEX]),
    count: Number(process.env[ENV_COUNT]),
    secret: Buffer.from(process.env[ENV_SECRET] ?? '', 'hex'),
    remoteStreams: JSON.parse(process.env[ENV_STREAMS] ?? '[]') as ListenSpec[],
    peers: JSON.parse(process.env[ENV_PEERS] ?? '[]') as number[],
    channel,
  };
}
