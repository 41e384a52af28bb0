/**
 * `npm run bench:server`: the harness's BENCH_START command. Runs sipline in the foreground from
 * the BENCH_* variables (../shared/bench/README.md): UDP on BENCH_HOST:BENCH_PORT, the domain
 * BENCH_DOMAIN, the users of BENCH_USERS_CSV, the benchmark routing script, an in-memory store
 * (nothing has to persist across restarts), warnings-only logging.
 *
 * Two extras for `npm run bench:scale` (scripts/bench-scale.mjs):
 *  - BENCH_PRELOAD_BINDINGS=N saves N more bindings (users scale0000000...) before the harness
 *    starts, so the cost of a request can be measured against the size of the location table;
 *  - BENCH_WORKERS=N runs N worker processes (worker mode, src/cluster), for the speed-up over
 *    cores; the harness pins the server to one CPU, so widen it in BENCH_START with taskset;
 *  - BENCH_LINGER_MS=ms sets timers.linger (Kamailio's 5 s wait timer instead of 64*T1);
 *  - BENCH_LOOP_DELAY_FILE=path writes the event-loop delay seen under load (perf_hooks
 *    monitorEventLoopDelay: the longest stall and percentiles, in ms) there when the server stops.
 */
import cluster from 'node:cluster';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startServer } from '../src/app.ts';
import { runPrimary, workerSettingsFromEnvironment } from '../src/cluster/index.ts';
import { createLogger } from '../src/shared/index.ts';
import { computeHa1 } from '../src/services/auth/index.ts';
import { MemoryStore, type Subscriber } from '../src/store/index.ts';
import { syntheticBinding } from './synthetic-binding.ts';

function required(name: string): string {
  const v = process.env[name];
  if (v === undefined || v === '') {
    console.error(`bench:server: ${name} is not set (run it through ../shared/bench/run, which sets BENCH_*)`);
    process.exit(2);
  }
  return v;
}

const host = process.env.BENCH_HOST || '127.0.0.1';
const port = Number(required('BENCH_PORT'));
const domain = required('BENCH_DOMAIN');
const csv = required('BENCH_USERS_CSV');

const workers = Number(process.env.BENCH_WORKERS ?? 1);
if (workers > 1 && cluster.isPrimary) {
  // the primary only forks and relays; each worker runs the code below
  const logger = createLogger({ level: 'warn' });
  const primary = await runPrimary({ workers, logger, onFatal: (reason) => (console.error(reason), process.exit(1)) });
  console.log(`sipline bench server on udp:${host}:${port}, domain ${domain}, ${workers} workers`);
  const stopAll = () => void primary.stop().then(() => process.exit(0));
  process.once('SIGTERM', stopAll);
  process.once('SIGINT', stopAll);
  await new Promise(() => {});
}
const worker = workerSettingsFromEnvironment();

const store = new MemoryStore();
await store.putDomain({ name: domain, realm: domain, aliases: [] });
const subscribers: Subscriber[] = [];
for (const line of readFileSync(csv, 'utf8').split('\n')) {
  const [user, password] = line.trim().split(',');
  if (!user || password === undefined) continue;
  subscribers.push({ username: user, domain, ha1Md5: computeHa1('MD5', user, domain, password), ha1Sha256: computeHa1('SHA-256', user, domain, password) });
}
await store.importSubscribers(subscribers);

const server = await startServer({
  listen: [{ protocol: 'udp', host, port }],
  store,
  // compiled (npm run bench:server) the script sits beside this file as .js
  script: fileURLToPath(new URL(import.meta.url.endsWith('.js') ? './bench-script.js' : './bench-script.ts', import.meta.url)),
  // bindings in memory only, as the harness's Kamailio keeps them (usrloc db_mode=0): "nothing has to persist"
  location: { persist: false },
  // the load generator is one source sending thousands of requests per second: a flood by design
  security: { flood: { requests: 0 } },
  logLevel: 'warn',
  // as `sipline start` does: the request path optimized before the first datagram (src/rehearsal.ts)
  rehearsal: true,
  timers: process.env.BENCH_LINGER_MS ? { linger: Number(process.env.BENCH_LINGER_MS) } : undefined,
  worker,
});
server.worker?.ready(server.listeners, [], async () => {
  await server.stop();
  return server.counters.snapshot();
}, () => server.reloadScript());
const preload = Number(process.env.BENCH_PRELOAD_BINDINGS ?? 0);
if (preload > 0) {
  const now = Date.now();
  for (let i = 0; i < preload; i++) server.location.save(syntheticBinding(i, domain, now));
  await server.location.flush();
}
// only when asked: its 10 ms sampling timer is a (small) cost of its own
const loopDelayFile = process.env.BENCH_LOOP_DELAY_FILE;
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
if (loopDelayFile) loopDelay.enable();
console.log(`sipline bench server on udp:${host}:${port}, domain ${domain}, ${subscribers.length} users, ${preload} preloaded bindings`);
const stop = () => {
  loopDelay.disable();
  const file = loopDelayFile;
  if (file) {
    // the histogram holds the whole interval between two samples: the delay is what exceeds the 10 ms resolution
    const ms = (ns: number) => Math.max(0, Math.round((ns - 10e6) / 1e4) / 100);
    writeFileSync(file, JSON.stringify({ max_ms: ms(loopDelay.max), p50_ms: ms(loopDelay.percentile(50)), p99_ms: ms(loopDelay.percentile(99)), mean_ms: ms(loopDelay.mean) }));
  }
  void server.stop().then(() => process.exit(0));
};
if (worker === undefined) {
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
} else {
  // the primary stops the workers
  process.on('SIGTERM', () => {});
  process.on('SIGINT', () => {});
}
