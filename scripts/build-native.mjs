#!/usr/bin/env node
// npm's install step: builds the batched UDP socket (native/udp.c, Linux recvmmsg/sendmmsg) with
// node-gyp. Where it cannot be built (no compiler, another OS) the server runs on node:dgram
// instead, so this warns and succeeds; `test/transport/native-udp.test.ts` fails on a Linux
// machine where the build did not happen.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
if (process.platform !== 'linux') {
  console.log('sipline: batched UDP socket is Linux-only; UDP runs on node:dgram');
  process.exit(0);
}
// npm puts its own node-gyp on the path of lifecycle scripts and names it in npm_config_node_gyp
let gyp = process.env.npm_config_node_gyp;
if (gyp === undefined || !existsSync(gyp)) {
  const npmCli = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  gyp = existsSync(npmCli) ? npmCli : undefined;
}
// the headers of the running Node (npm passes its nodedir setting; outside npm, Node's own prefix
// when it ships them), so that node-gyp does not try to download them
const prefix = join(dirname(process.execPath), '..');
const nodedir = process.env.npm_config_nodedir ?? (existsSync(join(prefix, 'include', 'node', 'common.gypi')) ? prefix : undefined);
const args = ['rebuild', ...(nodedir !== undefined ? [`--nodedir=${nodedir}`] : [])];
const run = gyp !== undefined
  ? spawnSync(process.execPath, [gyp, ...args], { cwd: repo, stdio: 'inherit' })
  : spawnSync('node-gyp', args, { cwd: repo, stdio: 'inherit' });
if (run.status !== 0) {
  console.warn('sipline: building the batched UDP socket (native/udp.c) failed; UDP runs on node:dgram (slower). Needs python3, make and a C compiler.');
  process.exit(0);
}
// load it once here, so that a build that does not load shows now, not at the first start
try {
  createRequire(import.meta.url)(join(repo, 'build', 'Release', 'sipline_udp.node'));
} catch (err) {
  console.warn(`sipline: the batched UDP socket was built but does not load (${err.message}); UDP runs on node:dgram`);
}
