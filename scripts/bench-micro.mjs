#!/usr/bin/env node
// `npm run bench:micro [-- register|call|options ...] [-- --rounds N]`: the request path of the
// benchmark server in one process, without the kernel. Datagrams are handed to the real UDP
// listener's 'message' listeners and what the server sends is captured instead of sent, so the
// figures are those of sipline's own code: CPU per operation and, above all, the bytes per
// operation that outlive a scavenge (promoted) and the scavenges themselves, which on a noisy VM
// repeat where CPU times do not. Not a replacement for `npm run bench` (no kernel, no SIPp, no
// Kamailio): a figure to compare two builds of the same code. Each workload runs in a child
// process with --trace-gc-nvp, after a warm-up of the same size.
import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const WORKLOADS = {
  // operations measured (the same number runs first as a warm-up)
  register: 40_000,
  call: 15_000,
  options: 200_000,
};
const USERS = 10_000;
const DOMAIN = 'bench.test';

function driver() {
  const args = process.argv.slice(2);
  const roundsAt = args.indexOf('--rounds');
  const rounds = roundsAt >= 0 ? Number(args[roundsAt + 1]) : 1;
  const named = args.filter((a, i) => !a.startsWith('--') && (roundsAt < 0 || i !== roundsAt + 1));
  const unknown = named.filter((w) => !(w in WORKLOADS));
  if (unknown.length > 0 || !(rounds >= 1)) {
    console.error(`bench:micro: usage: npm run bench:micro [-- ${Object.keys(WORKLOADS).join('|')} ...] [-- --rounds N]${unknown.length > 0 ? ` (unknown workload ${unknown.join(', ')})` : ''}`);
    process.exit(2);
  }
  const build = spawnSync(process.execPath, [fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url)), '-p', 'tsconfig.bench.json'], { cwd: repo, stdio: 'inherit' });
  if (build.status !== 0) {
    console.error('bench:micro: compiling the benchmark server failed');
    process.exit(2);
  }
  console.log('workload | us CPU/op | promoted B/op | scavenges | scavenge ms (median)');
  for (const workload of named.length > 0 ? named : Object.keys(WORKLOADS)) {
    for (let round = 0; round < rounds; round++) {
      const run = spawnSync(process.execPath, ['--min-semi-space-size=16', '--single-threaded-gc', '--initial-old-space-size=256', '--trace-gc-nvp', fileURLToPath(import.meta.url), '--child', workload, String(WORKLOADS[workload])], { cwd: repo, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
      const lines = run.stdout.split('\n');
      const result = lines.find((l) => l.startsWith('{"result"'));
      if (run.status !== 0 || result === undefined) {
        console.error(`bench:micro: the ${workload} run failed (exit ${run.status}):\n${run.stderr.slice(-2000)}`);
        process.exit(1);
      }
      const { ops, cpuUs } = JSON.parse(result).result;
      // GC lines between the markers only: the measured phase, not the start or the warm-up
      const from = lines.indexOf('MEASURE START');
      const to = lines.indexOf('MEASURE END');
      let promoted = 0;
      const pauses = [];
      for (const line of lines.slice(from, to)) {
        if (!/\bgc=s\b/.test(line)) continue;
        pauses.push(Number(/\bpause=([\d.]+)/.exec(line)?.[1] ?? 0));
        promoted += Number(/\bpromoted=(\d+)/.exec(line)?.[1] ?? 0);
      }
      pauses.sort((a, b) => a - b);
      const total = pauses.reduce((a, b) => a + b, 0);
      const median = pauses.length > 0 ? pauses[pauses.length >> 1] : 0;
      console.log(`${workload.padEnd(8)} | ${(cpuUs / ops).toFixed(1).padStart(9)} | ${Math.round(promoted / ops).toString().padStart(13)} | ${String(pauses.length).padStart(9)} | ${total.toFixed(0)} (${median.toFixed(1)})`);
    }
  }
}

async function child(workload, ops) {
  // datagrams are handed to node:dgram's 'message' listeners: the listener must use node:dgram,
  // not the batched socket (whose reads and writes are system calls this benchmark leaves out)
  process.env.SIPLINE_UDP = 'dgram';
  const created = [];
  const createSocket = dgram.createSocket;
  dgram.createSocket = (...args) => {
    const socket = createSocket(...args);
    created.push(socket);
    return socket;
  };
  const dist = pathToFileURL(`${repo}dist-bench/`).href;
  const { startServer } = await import(`${dist}src/app.js`);
  const { MemoryStore } = await import(`${dist}src/store/index.js`);
  const { computeHa1, computeResponse } = await import(`${dist}src/services/auth/index.js`);
  const store = new MemoryStore();
  await store.putDomain({ name: DOMAIN, realm: DOMAIN, aliases: [] });
  const users = [];
  for (let i = 0; i < USERS; i++) users.push(userName(i));
  users.push('callee');
  await store.importSubscribers(users.map((u) => ({ username: u, domain: DOMAIN, ha1Md5: computeHa1('MD5', u, DOMAIN, password(u)), ha1Sha256: computeHa1('SHA-256', u, DOMAIN, password(u)) })));
  // as bench/server.ts starts it
  const server = await startServer({
    listen: [{ protocol: 'udp', host: '127.0.0.1', port: 0 }],
    store,
    script: fileURLToPath(`${dist}bench/bench-script.js`),
    location: { persist: false },
    security: { flood: { requests: 0 } },
    logLevel: 'warn',
    rehearsal: true,
  });
  // the real listener's socket is the last one made (the rehearsal's were made and closed before)
  const socket = created[created.length - 1];
  const sent = [];
  socket.send = (bytes, port) => void sent.push([bytes, port]);
  const peer = new Peer(socket, sent, (user, nonce) =>
    computeResponse({ algorithm: 'MD5', ha1: computeHa1('MD5', user, DOMAIN, password(user)), method: 'REGISTER', uri: `sip:${DOMAIN}`, nonce, qop: { nc: '00000001', cnonce: 'c0ffee' } }),
  );
  const run = { register: (n, base) => peer.registrations(n, base), call: (n, base) => peer.calls(n, base), options: (n, base) => peer.options(n, base) }[workload];
  if (workload === 'call') await peer.registerCallee();
  await run(ops, 0);
  console.log('MEASURE START');
  const cpu = process.cpuUsage();
  const completed = await run(ops, ops);
  const used = process.cpuUsage(cpu);
  console.log('MEASURE END');
  if (completed !== ops) {
    console.error(`bench:micro: ${completed} of ${ops} ${workload} operations completed`);
    process.exit(1);
  }
  console.log(JSON.stringify({ result: { ops, cpuUs: used.user + used.system } }));
  await server.stop();
  process.exit(0);
}

function userName(i) {
  return `user${String(i % USERS).padStart(4, '0')}`;
}

function password(user) {
  return `pw-${user}`;
}

const header = (text, name) => new RegExp(`^${name}: (.*)$`, 'mi').exec(text)?.[1] ?? '';
const headers = (text, name) => [...text.matchAll(new RegExp(`^${name}: (.*)$`, 'gmi'))].map((m) => `${name}: ${m[1]}`).join('\r\n');
const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n';
const BATCH = 25;

/** The SIPp side of the harness's scenarios: caller (7001) and callee (7101), as datagrams handed to the server. */
class Peer {
  /** `digest(user, nonce)`: the client's response for a REGISTER challenge (the project's own digest code). */
  constructor(socket, sent, digest) {
    this.socket = socket;
    this.sent = sent;
    this.digest = digest;
    this.caller = { address: '127.0.0.1', family: 'IPv4', port: 7001, size: 0 };
    this.callee = { address: '127.0.0.1', family: 'IPv4', port: 7101, size: 0 };
  }

  deliver(text, from) {
    const bytes = Buffer.from(text, 'latin1');
    this.socket.emit('message', bytes, { ...from, size: bytes.length });
  }

  /** Lets the server's deferred work and its send flush run (setImmediate), then takes what it sent. */
  async drain(turns = 3) {
    for (let i = 0; i < turns; i++) await new Promise(setImmediate);
    return this.sent.splice(0).map(([bytes, port]) => [bytes.toString('latin1'), port]);
  }

  register(i, cseq, user, authorization, from = this.caller) {
    return [
      `REGISTER sip:${DOMAIN} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${from.port};branch=z9hG4bK-r${i}-${cseq}`,
      'Max-Forwards: 70',
      `From: <sip:${user}@${DOMAIN}>;tag=r${i}`,
      `To: <sip:${user}@${DOMAIN}>`,
      `Call-ID: r${i}@127.0.0.1`,
      `CSeq: ${cseq} REGISTER`,
      `Contact: <sip:${user}@127.0.0.1:${from.port}>`,
      'Expires: 3600',
      ...(authorization ? [`Authorization: ${authorization}`] : []),
      'User-Agent: sipp-bench',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
  }

  credentials(user, challenge) {
    const nonce = /nonce="([^"]+)"/.exec(challenge)?.[1] ?? '';
    const response = this.digest(user, nonce);
    return `Digest username="${user}", realm="${DOMAIN}", nonce="${nonce}", uri="sip:${DOMAIN}", response="${response}", algorithm=MD5, qop=auth, nc=00000001, cnonce="c0ffee"`;
  }

  async registerCallee() {
    this.deliver(this.register(0, 1, 'callee', undefined, this.callee), this.callee);
    const [[challenge]] = await this.drain();
    this.deliver(this.register(0, 2, 'callee', this.credentials('callee', challenge), this.callee), this.callee);
    const [[ok]] = await this.drain();
    if (!ok.startsWith('SIP/2.0 200')) throw new Error(`the callee was not registered: ${ok.slice(0, 60)}`);
  }

  /** REGISTER, 401, REGISTER with credentials, 200: users in sequence, as the harness's register workload. */
  async registrations(n, base) {
    let ok = 0;
    for (let j = 0; j < n; j += BATCH) {
      for (let k = j; k < Math.min(n, j + BATCH); k++) this.deliver(this.register(base + k, 1, userName(base + k)), this.caller);
      for (const [text] of await this.drain()) {
        const i = Number(/branch=z9hG4bK-r(\d+)-1/.exec(text)?.[1]);
        if (text.startsWith('SIP/2.0 401')) this.deliver(this.register(i, 2, userName(i), this.credentials(userName(i), text)), this.caller);
      }
      for (const [text] of await this.drain()) if (text.startsWith('SIP/2.0 200')) ok++;
    }
    return ok;
  }

  /** INVITE, 100, 180, 200, ACK, BYE, 200 through the proxy to the registered callee. */
  async calls(n, base) {
    let ok = 0;
    for (let j = 0; j < n; j += BATCH) {
      for (let k = j; k < Math.min(n, j + BATCH); k++) {
        const i = base + k;
        this.deliver(
          `INVITE sip:callee@${DOMAIN} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:7001;branch=z9hG4bK-c${i}\r\nMax-Forwards: 70\r\nFrom: <sip:caller@${DOMAIN}>;tag=c${i}\r\nTo: <sip:callee@${DOMAIN}>\r\nCall-ID: ${i}-call@127.0.0.1\r\nCSeq: 1 INVITE\r\nContact: <sip:caller@127.0.0.1:7001>\r\nContent-Type: application/sdp\r\nContent-Length: ${SDP.length}\r\n\r\n${SDP}`,
          this.caller,
        );
      }
      for (const [text, port] of await this.drain()) {
        if (port !== 7101 || !text.startsWith('INVITE')) continue;
        const common = `${headers(text, 'Via')}\r\n${headers(text, 'Record-Route')}\r\nFrom: ${header(text, 'From')}\r\nTo: ${header(text, 'To')};tag=callee\r\nCall-ID: ${header(text, 'Call-ID')}\r\nCSeq: 1 INVITE\r\n`;
        this.deliver(`SIP/2.0 180 Ringing\r\n${common}Content-Length: 0\r\n\r\n`, this.callee);
        this.deliver(`SIP/2.0 200 OK\r\n${common}Contact: <sip:callee@127.0.0.1:7101>\r\nContent-Type: application/sdp\r\nContent-Length: ${SDP.length}\r\n\r\n${SDP}`, this.callee);
      }
      for (const [text, port] of await this.drain()) {
        if (port !== 7001 || !text.startsWith('SIP/2.0 200')) continue;
        const callId = header(text, 'Call-ID');
        const i = parseInt(callId, 10);
        const inDialog = (method, cseq) =>
          `${method} sip:callee@127.0.0.1:7101 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:7001;branch=z9hG4bK-${method}${i}\r\nRoute: ${header(text, 'Record-Route')}\r\nMax-Forwards: 70\r\nFrom: ${header(text, 'From')}\r\nTo: ${header(text, 'To')}\r\nCall-ID: ${callId}\r\nCSeq: ${cseq} ${method}\r\nContent-Length: 0\r\n\r\n`;
        this.deliver(inDialog('ACK', 1), this.caller);
        this.deliver(inDialog('BYE', 2), this.caller);
      }
      for (const [text, port] of await this.drain()) {
        if (port !== 7101 || !text.startsWith('BYE')) continue;
        this.deliver(`SIP/2.0 200 OK\r\n${headers(text, 'Via')}\r\nFrom: ${header(text, 'From')}\r\nTo: ${header(text, 'To')}\r\nCall-ID: ${header(text, 'Call-ID')}\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n`, this.callee);
      }
      for (const [text, port] of await this.drain()) if (port === 7001 && text.startsWith('SIP/2.0 200') && /^CSeq: 2 BYE/m.test(text)) ok++;
    }
    return ok;
  }

  /** OPTIONS to the server itself, answered statelessly by the benchmark script. */
  async options(n, base) {
    let ok = 0;
    for (let j = 0; j < n; j += 50) {
      for (let k = j; k < Math.min(n, j + 50); k++) {
        const i = base + k;
        this.deliver(
          `OPTIONS sip:${DOMAIN} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:7001;branch=z9hG4bK-o${i}\r\nMax-Forwards: 70\r\nFrom: <sip:bench@${DOMAIN}>;tag=o${i}\r\nTo: <sip:${DOMAIN}>\r\nCall-ID: ${i}-options@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nContact: <sip:bench@127.0.0.1:7001>\r\nAccept: application/sdp\r\nUser-Agent: sipp-bench\r\nContent-Length: 0\r\n\r\n`,
          this.caller,
        );
      }
      for (const [text] of await this.drain(1)) if (text.startsWith('SIP/2.0 200')) ok++;
    }
    return ok;
  }
}

// last: the class above must be initialized before a child uses it
if (process.argv[2] === '--child') await child(process.argv[3], Number(process.argv[4]));
else driver();
