#!/usr/bin/env node
// `npm run bench:scale`: the figures of issue 4 that the same-run comparison does not give, for our
// server alone, on this machine, recorded in docs/benchmarks.md:
//  1. latency: SIPp response-time p50/p99 and the event-loop delay (perf_hooks) at 50 % and 90 %
//     of the highest sustained rate of each workload (found first with the harness's quick search);
//  2. cost against state: CPU per call and memory with 1,000, 100,000 and 1,000,000 bindings in the
//     location table, and the memory per binding;
//  3. start-up with 1,000,000 bindings persisted in SQLite;
//  4. 10,000 concurrent calls held through the proxy (500 calls/s, each held 20 s).
// Options: --quick (shorter steps, 100,000 bindings at most), --skip-held.
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const harness = fileURLToPath(new URL('../../shared/bench/run', import.meta.url));
const sharedScenarios = fileURLToPath(new URL('../../shared/bench/scenarios/', import.meta.url));
const quick = process.argv.includes('--quick');
const skipHeld = process.argv.includes('--skip-held');
if (!existsSync(harness)) {
  console.error(`bench:scale: the harness is missing at ${harness} (the repo must sit beside ../shared)`);
  process.exit(2);
}
const scratch = mkdtempSync(join(os.tmpdir(), 'sipline-scale-'));
const serverJs = join(repo, 'dist-bench/bench/server.js');
const stepSeconds = quick ? 6 : 10;
const sizes = quick ? [1_000, 100_000] : [1_000, 100_000, 1_000_000];

function build() {
  const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));
  const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.bench.json'], { cwd: repo, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('compiling the benchmark server failed');
}

/** Runs the harness against our server (BENCH_START with extra variables) and returns its results JSON. */
function runHarness(args, extraEnv = {}) {
  const prefix = Object.entries(extraEnv)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const env = { ...process.env, BENCH_START: `${prefix} node ${serverJs}`.trim() };
  const r = spawnSync('bash', [harness, '--server', 'cmd', ...args], { cwd: repo, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const out = `${r.stdout ?? ''}`;
  process.stdout.write(out.split('\n').filter((l) => /fixed|max sustained|PASS|FAIL/.test(l)).join('\n') + '\n');
  const m = /results: (\S+\.json)/.exec(out);
  if (r.status !== 0 || m === null) throw new Error(`the harness failed (${r.status}): ${out.slice(-2000)}${r.stderr ?? ''}`);
  return JSON.parse(readFileSync(join(repo, m[1]), 'utf8'));
}

function fixed(workload, rate, extraEnv = {}) {
  const result = runHarness(['--workload', workload, '--rate', String(Math.max(1, Math.floor(rate))), '--duration', String(stepSeconds)], extraEnv).results[0];
  const step = result.steps[result.steps.length - 1];
  const times = Object.values(step.response_ms ?? result.response_ms ?? {})[0] ?? {};
  return {
    rate: Math.floor(rate),
    passed: step.passed,
    failed: step.failed + step.unfinished,
    cpuUs: result.server_cpu_us_per_call ?? Math.round((step.server_cpu_pct * 1e4) / Math.max(1, step.achieved_rate)),
    rssMb: Math.round((step.mem?.rss_max_kb ?? result.mem?.rss_max_kb ?? 0) / 1024),
    p50: times.p50,
    p99: times.p99,
  };
}

function loopDelayEnv(name) {
  const file = join(scratch, `${name}.loop.json`);
  return { env: { BENCH_LOOP_DELAY_FILE: file }, read: () => (existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {}) };
}

/** Heap and RSS per binding of the location table alone (the SQLite copy lives on disk). */
function bindingFootprint(n) {
  const code = `
    const { LocationService } = await import(${JSON.stringify(join(repo, 'dist-bench/src/services/location/index.js'))});
    const { syntheticBinding } = await import(${JSON.stringify(join(repo, 'dist-bench/bench/synthetic-binding.js'))});
    const repo = { loadBindings: async () => [], writeBindings: async () => {} };
    const location = new LocationService(repo);
    globalThis.gc(); const h0 = process.memoryUsage().heapUsed; const r0 = process.memoryUsage().rss;
    const now = Date.now();
    for (let i = 0; i < ${n}; i++) location.save(syntheticBinding(i, 'bench.test', now));
    await location.flush();
    globalThis.gc(); const m = process.memoryUsage();
    console.log(JSON.stringify({ heapPerBinding: (m.heapUsed - h0) / ${n}, rssPerBinding: (m.rss - r0) / ${n} }));`;
  const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', code], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

/** Writes n bindings into a SQLite store, then times a LocationService starting on it. */
function startupWithPersisted(n) {
  const dir = join(scratch, 'startup');
  const code = `
    const { SqliteStore } = await import(${JSON.stringify(join(repo, 'dist-bench/src/store/index.js'))});
    const { LocationService } = await import(${JSON.stringify(join(repo, 'dist-bench/src/services/location/index.js'))});
    const { syntheticBinding } = await import(${JSON.stringify(join(repo, 'dist-bench/bench/synthetic-binding.js'))});
    const path = ${JSON.stringify(join(dir, 'sipline.sqlite'))};
    const fs = await import('node:fs'); fs.mkdirSync(${JSON.stringify(dir)}, { recursive: true });
    let store = new SqliteStore(path);
    const now = Date.now();
    for (let start = 0; start < ${n}; start += 50000) {
      const batch = [];
      for (let i = start; i < Math.min(${n}, start + 50000); i++) batch.push(syntheticBinding(i, 'bench.test', now));
      await store.writeBindings(batch, []);
    }
    await store.close();
    const t0 = performance.now();
    store = new SqliteStore(path);
    const location = new LocationService(store);
    const loaded = await location.start();
    const seconds = (performance.now() - t0) / 1000;
    await location.stop(); await store.close();
    console.log(JSON.stringify({ loaded, seconds }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

function waitExit(child, ms) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve(-1);
    }, ms);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code ?? -1);
    });
  });
}

function rssMb(pid) {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? 0 : Math.round(Number(m[1]) / 1024);
  } catch {
    return 0;
  }
}

/** 10,000 calls up at once: 500 calls/s, each held 20 s, against the harness's callee scenario. */
async function heldCalls(rate = 500, holdMs = 20_000, calls = 10_000) {
  const dir = join(scratch, 'held');
  spawnSync('mkdir', ['-p', dir]);
  const users = join(dir, 'users.csv');
  writeFileSync(users, 'callee,callee-secret\n');
  const calleeInf = join(dir, 'callee.inf');
  writeFileSync(calleeInf, 'SEQUENTIAL\ncallee;callee-secret;[authentication username=callee password=callee-secret];127.0.0.1:7101\n');
  const port = 5097;
  const server = spawn('taskset', ['-c', '0', process.execPath, serverJs], {
    env: { ...process.env, BENCH_PORT: String(port), BENCH_HOST: '127.0.0.1', BENCH_DOMAIN: 'bench.test', BENCH_USERS_CSV: users, BENCH_WORKDIR: dir },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    await new Promise((r) => setTimeout(r, 3000));
    const sipp = (args) => ['taskset', ['-c', '1', 'sipp', `127.0.0.1:${port}`, '-i', '127.0.0.1', '-key', 'domain', 'bench.test', '-key', 'callee', 'callee', '-nostdin', '-buff_size', '4194304', ...args]];
    const [regCmd, regArgs] = sipp(['-sf', join(sharedScenarios, 'register_contact.xml'), '-p', '7102', '-inf', calleeInf, '-auth_uri', 'bench.test', '-m', '1', '-timeout', '10']);
    const reg = spawnSync(regCmd, regArgs, { cwd: dir, encoding: 'utf8' });
    if (reg.status !== 0) throw new Error(`the callee did not register: ${reg.stdout}`);
    const [uasCmd, uasArgs] = sipp(['-sf', join(sharedScenarios, 'call_uas.xml'), '-p', '7101', '-l', '1000000', '-timeout', String(Math.ceil((calls / rate + holdMs / 1000) + 60))]);
    const uas = spawn(uasCmd, uasArgs, { cwd: dir, stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 500));
    const [uacCmd, uacArgs] = sipp(['-sf', join(repo, 'bench/scenarios/held-call.xml'), '-p', '7103', '-r', String(rate), '-m', String(calls), '-l', String(calls + 1000), '-d', String(holdMs), '-recv_timeout', '8000', '-timeout', String(Math.ceil(calls / rate + holdMs / 1000 + 40)), '-trace_stat', '-stf', join(dir, 'stat.csv'), '-fd', '1']);
    const uac = spawn(uacCmd, uacArgs, { cwd: dir, stdio: 'ignore' });
    let peakRss = 0;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssMb(server.pid))), 500);
    const code = await waitExit(uac, (calls / rate + holdMs / 1000 + 60) * 1000);
    clearInterval(sampler);
    uas.kill('SIGTERM');
    const lines = readFileSync(join(dir, 'stat.csv'), 'utf8').trim().split('\n');
    const header = lines[0].split(';');
    const last = lines[lines.length - 1].split(';');
    const col = (name) => Number(last[header.indexOf(name)]);
    let peakConcurrent = 0;
    for (const line of lines.slice(1)) peakConcurrent = Math.max(peakConcurrent, Number(line.split(';')[header.indexOf('CurrentCall')]));
    return { rate, holdMs, calls, sippExit: code, successful: col('SuccessfulCall(C)'), failed: col('FailedCall(C)'), peakConcurrent, peakRss };
  } finally {
    server.kill('SIGTERM');
    await waitExit(server, 8000);
  }
}

build();
const started = new Date();
console.log('bench:scale: finding the highest sustained rates (harness quick search)');
const search = runHarness(['--quick']);
const max = Object.fromEntries(search.results.map((r) => [r.workload, r.rate]));
console.log('max rates', max);

const latency = [];
for (const workload of ['register', 'call', 'options']) {
  for (const fraction of [0.5, 0.9]) {
    const loop = loopDelayEnv(`${workload}-${fraction}`);
    const r = fixed(workload, max[workload] * fraction, loop.env);
    latency.push({ workload, fraction, ...r, loop: loop.read() });
  }
}

const scaling = [];
for (const n of sizes) {
  for (const workload of ['register', 'call']) {
    const r = fixed(workload, max[workload] * 0.5, { BENCH_PRELOAD_BINDINGS: n });
    scaling.push({ n, workload, ...r });
  }
}
const footprint = bindingFootprint(quick ? 100_000 : 1_000_000);
const startup = startupWithPersisted(quick ? 100_000 : 1_000_000);
const held = skipHeld ? null : await heldCalls();
rmSync(scratch, { recursive: true, force: true });

const rows = (list, cols) => list.map((r) => `| ${cols.map((c) => c(r)).join(' | ')} |`).join('\n');
let doc = `\n## ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC — \`npm run bench:scale ${process.argv.slice(2).join(' ')}\`\n\n`;
doc += `Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), Node.js ${process.version}; our server alone, on CPU 0, SIPp on CPU 1.\n`;
doc += `Highest sustained rates (harness quick search): register ${max.register}/s, call ${max.call}/s, options ${max.options}/s.\n\n`;
doc += `Latency at 50 % and 90 % of those rates (${stepSeconds} s steps; SIPp response times in ms with its 4 ms clock; event-loop delay (how late a 10 ms timer fired, perf_hooks.monitorEventLoopDelay) over the server's life under the harness):\n\n`;
doc += '| workload | load | rate/s | passed | p50 ms | p99 ms | CPU us/call | event-loop delay p99 ms | longest stall ms |\n|---|---|---|---|---|---|---|---|---|\n';
doc += rows(latency, [(r) => r.workload, (r) => `${r.fraction * 100} %`, (r) => r.rate, (r) => (r.passed ? 'yes' : `no (${r.failed} failed)`), (r) => r.p50 ?? '-', (r) => r.p99 ?? '-', (r) => r.cpuUs, (r) => r.loop.p99_ms ?? '-', (r) => r.loop.max_ms ?? '-']) + '\n\n';
doc += 'Cost against the size of the location table (at 50 % of the highest rate; the bench server keeps a second copy of each binding in its in-memory store, so RSS counts two per binding):\n\n';
doc += '| bindings | workload | rate/s | passed | CPU us/call | RSS MB |\n|---|---|---|---|---|---|\n';
doc += rows(scaling, [(r) => r.n.toLocaleString('en'), (r) => r.workload, (r) => r.rate, (r) => (r.passed ? 'yes' : `no (${r.failed} failed)`), (r) => r.cpuUs, (r) => r.rssMb]) + '\n\n';
const regs = scaling.filter((r) => r.workload === 'register');
const slope = (regs[regs.length - 1].rssMb - regs[0].rssMb) * 1024 * 1024 / (regs[regs.length - 1].n - regs[0].n);
doc += `Memory per binding: ${Math.round(footprint.heapPerBinding)} bytes of heap and ${Math.round(footprint.rssPerBinding)} bytes of RSS for the location table alone (${(quick ? 100_000 : 1_000_000).toLocaleString('en')} bindings, store on disk); the bench server's RSS slope, with its in-memory store copy, is ${Math.round(slope)} bytes per binding.\n\n`;
doc += `Start-up with ${startup.loaded.toLocaleString('en')} bindings persisted in SQLite: ${startup.seconds.toFixed(1)} s until the location service is loaded.\n\n`;
if (held !== null) {
  doc += `Held calls: ${held.calls.toLocaleString('en')} calls at ${held.rate}/s, each held ${held.holdMs / 1000} s: ${held.successful.toLocaleString('en')} successful, ${held.failed} failed, ${held.peakConcurrent.toLocaleString('en')} up at once at the peak, server RSS at most ${held.peakRss} MB (SIPp exit ${held.sippExit}).\n`;
}
console.log(doc);
appendFileSync(fileURLToPath(new URL('../docs/benchmarks.md', import.meta.url)), doc);
console.log('bench:scale: recorded in docs/benchmarks.md');
