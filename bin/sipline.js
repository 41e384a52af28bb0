#!/usr/bin/env -S node --min-semi-space-size=16 --single-threaded-gc --initial-old-space-size=256
// The `sipline` command: runs the compiled CLI (built by `npm ci` through the prepare script).
// --min-semi-space-size=16: V8's young generation never below 2 x 16 MB (README, "Start-up
// rehearsal and runtime tuning"), so load arriving right after a start or a lull does not meet a
// small one, scavenges in quick succession and datagrams dropped while they run.
// --single-threaded-gc: the collector works on the main thread, between messages, instead of in
// threads that preempt it on the process's core (one core per process is the deployment: workers).
// --initial-old-space-size=256: the old generation is first collected at 256 MB, not at the few MB
// V8 starts with, so a fresh process under load is not paused by a full collection every second.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const compiled = fileURLToPath(new URL('../dist/main.js', import.meta.url));
if (!existsSync(compiled)) {
  console.error('sipline: dist/ is missing; run `npm run build` (npm ci does it) first');
  process.exit(1);
}
await import(compiled);
