#!/usr/bin/env node
// `npm run bench [-- --quick] [-- --workload call]`: runs the SIPp harness of ../shared/bench against
// sipline (BENCH_START = `npm run bench:server`) and Kamailio in one run, prints the harness's
// table, and records it with the date and the machine's core count in docs/benchmarks.md.
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const harness = fileURLToPath(new URL('../../shared/bench/run', import.meta.url));
if (!existsSync(harness)) {
  console.error(`bench: the harness is missing at ${harness} (the repo must sit beside ../shared)`);
  process.exit(2);
}
const args = ['--compare', ...process.argv.slice(2)];
// the server runs compiled, as `npm start` does: tsx's on-the-fly output wraps every function
// with a naming helper, which costs per closure on the hot path
const build = spawnSync(process.execPath, [fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url)), '-p', 'tsconfig.bench.json'], { cwd: repo, stdio: 'inherit' });
if (build.status !== 0) {
  console.error('bench: compiling the benchmark server failed');
  process.exit(2);
}
// the V8 flag of `npm start` and bin/sipline.js (README, "Start-up rehearsal and runtime tuning")
const env = { ...process.env, BENCH_START: `node --min-semi-space-size=16 --single-threaded-gc --initial-old-space-size=256 ${repo}dist-bench/bench/server.js` };
const child = spawn('bash', [harness, ...args], { cwd: repo, env, stdio: ['ignore', 'pipe', 'inherit'] });
let output = '';
child.stdout.on('data', (d) => {
  process.stdout.write(d);
  output += d.toString();
});
child.on('exit', (code) => {
  if (code !== 0) {
    console.error(`bench: the harness exited with ${code}; docs/benchmarks.md is unchanged`);
    process.exit(code ?? 1);
  }
  const doc = fileURLToPath(new URL('../docs/benchmarks.md', import.meta.url));
  if (!existsSync(doc)) writeFileSync(doc, '# Benchmarks\n\nSame-run comparisons with Kamailio 5.6 through `../shared/bench` (`npm run bench`). Only the ratios mean anything across runs.\n');
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const lines = output.split('\n');
  // the harness ends with its summary table; keep everything from the first table line on
  const start = lines.findIndex((l) => /^\s*workload\b/i.test(l) || /^\|\s*workload/i.test(l));
  const table = (start >= 0 ? lines.slice(start) : lines.slice(-25)).join('\n').trim();
  appendFileSync(
    doc,
    `\n## ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC — \`npm run bench ${process.argv.slice(2).join(' ')}\`\n\n` +
      `Machine: ${os.cpus().length} cores (${cpu}), Node.js ${process.version}. Server on CPU 0, SIPp on CPU 1.\n\n` +
      '```\n' + table + '\n```\n',
  );
  console.log(`bench: recorded in docs/benchmarks.md (${readFileSync(doc, 'utf8').length} bytes)`);
});
