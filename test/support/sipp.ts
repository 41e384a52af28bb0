/**
 * Helpers for the integration tests that drive sipp (Debian sip-tester 3.6) against the stack:
 * free ports, a bounded sipp child process, and parsers for sipp's statistics (-trace_stat) and
 * final screen (-trace_screen). Every sipp run gets -m, -timeout and -timeout_error, and a hard
 * kill timer on top, so a hung scenario cannot hang the suite.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SIPP = '/usr/bin/sipp';
export const SCENARIOS = join(dirname(fileURLToPath(import.meta.url)), '..', 'integration', 'scenarios');

function bindUdp(port: number, host: string): Promise<dgram.Socket | null> {
  return new Promise((resolve) => {
    const s = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    s.once('error', () => {
      s.close();
      resolve(null);
    });
    s.bind(port, host, () => resolve(s));
  });
}

function bindTcp(port: number, host: string): Promise<net.Server | null> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(null));
    s.listen(port, host, () => resolve(s));
  });
}

/**
 * A port that is free for both UDP and TCP on `host` (and, with `pairWithPlus2`, whose port+2 is
 * free for UDP too, as sipp's media port needs). Bound and released here, so a small race
 * remains; callers that bind it themselves retry on EADDRINUSE.
 */
export async function freePort(host = '127.0.0.1', pairWithPlus2 = false): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const udp = await bindUdp(0, host);
    if (udp === null) continue;
    const port = udp.address().port;
    const tcp = await bindTcp(port, host);
    const plus2 = pairWithPlus2 && port + 2 <= 65535 ? await bindUdp(port + 2, host) : null;
    const ok = tcp !== null && (!pairWithPlus2 || plus2 !== null);
    udp.close();
    plus2?.close();
    if (tcp !== null) await new Promise<void>((r) => tcp.close(() => r()));
    if (ok) return port;
  }
  throw new Error('no free port found');
}

export interface SippStats {
  created: number;
  successful: number;
  failed: number;
  /** Every column of the last line of the statistics file, by header name. */
  columns: Record<string, string>;
}

/** One row of the message table of sipp's scenario screen. */
export interface SippMessageRow {
  label: string;
  direction: 'send' | 'recv';
  messages: number;
  retrans: number;
  timeouts: number;
  unexpected: number;
}

export interface SippResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  stats: SippStats | null;
  screen: string;
  rows: SippMessageRow[];
  errors: string;
  /** The -trace_msg log (every message sent and received), when `traceMessages` was set. */
  messages: string;
  /** For assertion messages: everything useful when a run fails. */
  describe(): string;
}

export interface SippOptions {
  /** A scenario file under test/integration/scenarios (or an absolute path), or a built-in one: `sn:uas`. */
  scenario: string;
  /** host:port of the peer (UAC mode). */
  remote?: string;
  transport: 'u1' | 't1';
  /** Local SIP port (-p). */
  port: number;
  /** Calls to process before exiting (-m). */
  calls: number;
  timeoutSeconds?: number;
  /** Further arguments (-r, -lost, -d, ...). */
  extra?: string[];
  /** Log every message sent and received (-trace_msg), returned as `messages`. */
  traceMessages?: boolean;
  /** The local address sipp binds to (-i); 127.0.0.1 by default. Any 127.0.0.x acts as another source. */
  localIp?: string;
}

/** Parses the -trace_stat CSV (';' separated, header line first): the cumulative counters of its last line. */
export function parseStats(csv: string): SippStats | null {
  const lines = csv.split('\n').filter((l) => l.trim() !== '');
  if (lines.length < 2) return null;
  const header = lines[0].split(';');
  const values = lines[lines.length - 1].split(';');
  const columns: Record<string, string> = {};
  header.forEach((name, i) => (columns[name] = values[i] ?? ''));
  const num = (name: string): number => {
    const v = columns[name];
    if (v === undefined || v === '' || !/^\d+$/.test(v)) throw new Error(`sipp statistics: no numeric column ${name}`);
    return Number(v);
  };
  return { created: num('TotalCallCreated'), successful: num('SuccessfulCall(C)'), failed: num('FailedCall(C)'), columns };
}

/**
 * The message table of the last scenario screen in a -trace_screen dump. A client scenario
 * prints "INVITE ---------->" (sent) and "200 <----------" (received); a server scenario puts the
 * arrow first and points it the other way: "----------> INVITE" (received), "<---------- 200" (sent).
 */
export function parseScreenRows(screen: string): SippMessageRow[] {
  const start = screen.lastIndexOf('Scenario Screen');
  if (start < 0) return [];
  const rows: SippMessageRow[] = [];
  const counts = String.raw`(?:\S*RTD\d+\s+)?(\d+)(?:\s+(\d+))?(?:\s+(\d+))?(?:\s+(\d+))?\s*$`;
  const client = new RegExp(String.raw`^\s+(\S+(?: \[\s*\d+ms\])?)\s+(-+>|<-+)\s+` + counts);
  const server = new RegExp(String.raw`^\s+(-+>|<-+)\s+(\S+)\s+` + counts);
  for (const line of screen.slice(start).split('\n')) {
    if (line.startsWith('------') && rows.length > 0) break;
    const c = client.exec(line);
    const m = c ?? server.exec(line);
    if (m === null) continue;
    const [label, arrow] = c !== null ? [m[1], m[2]] : [m[2], m[1]];
    const recv = c !== null ? arrow.startsWith('<') : arrow.endsWith('>');
    rows.push({
      label,
      direction: recv ? 'recv' : 'send',
      messages: Number(m[3]),
      retrans: Number(m[4] ?? 0),
      timeouts: Number(m[5] ?? 0),
      unexpected: recv ? Number(m[6] ?? 0) : 0,
    });
  }
  return rows;
}

/** A running sipp, bounded by -timeout and by a kill timer; kill() it in a finally block. */
export class SippProcess {
  child!: ChildProcess;
  readonly dir: string;
  readonly done: Promise<SippResult>;
  args: string[] = [];
  private killTimer!: NodeJS.Timeout;
  private killed = false;
  /** Resolves when the first sipp child has been spawned. */
  private readonly spawned: Promise<void>;
  private onSpawned: () => void = () => {};

  private constructor(options: SippOptions) {
    this.dir = mkdtempSync(join(tmpdir(), 'sipline-sipp-'));
    this.spawned = new Promise((resolve) => (this.onSpawned = resolve));
    this.done = this.launch(options, 0);
  }

  /**
   * Runs sipp on a control port and a media port found free; when another test took one of them
   * between freePort() and sipp's bind (sipp exits at once, EADDRINUSE), it runs again on others.
   */
  private async launch(options: SippOptions, attempt: number): Promise<SippResult> {
    const controlPort = await freePort();
    const mediaPort = await freePort('127.0.0.1', true);
    const result = await this.spawnOnce(options, controlPort, mediaPort);
    const lostPort = /Unable to bind (remote control|media|audio|video|RTP)[^\n]*errno = 98/i.test(result.stderr + result.errors);
    return lostPort && attempt < 4 && !this.killed ? this.launch(options, attempt + 1) : result;
  }

  private spawnOnce(options: SippOptions, controlPort: number, mediaPort: number): Promise<SippResult> {
    const timeout = options.timeoutSeconds ?? 20;
    const scenarioArgs = options.scenario.startsWith('sn:')
      ? ['-sn', options.scenario.slice(3)]
      : ['-sf', isAbsolute(options.scenario) ? options.scenario : join(SCENARIOS, options.scenario)];
    const file = (name: string) => join(this.dir, name);
    this.args = [
      ...scenarioArgs,
      ...(options.remote !== undefined ? [options.remote] : []),
      '-t', options.transport,
      '-i', options.localIp ?? '127.0.0.1',
      '-bind_local',
      '-p', String(options.port),
      '-ci', '127.0.0.1',
      '-cp', String(controlPort),
      '-mp', String(mediaPort),
      '-m', String(options.calls),
      '-timeout', `${timeout}s`,
      '-timeout_error',
      '-nostdin',
      '-trace_stat', '-stf', file('stat.csv'), '-fd', '1',
      '-trace_screen', '-screen_file', file('screen.log'),
      '-trace_err', '-error_file', file('errors.log'),
      ...(options.traceMessages === true ? ['-trace_msg', '-message_file', file('messages.log')] : []),
      ...(options.extra ?? []),
    ];
    this.child = spawn(SIPP, this.args, { cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    this.onSpawned();
    let stdout = '';
    let stderr = '';
    this.child.stdout?.on('data', (d: Buffer) => (stdout += d.toString('latin1')));
    this.child.stderr?.on('data', (d: Buffer) => (stderr += d.toString('latin1')));
    // sipp's own -timeout should end it; this is the backstop
    this.killTimer = setTimeout(() => this.kill(), (timeout + 10) * 1000);
    return new Promise((resolve) => {
      this.child.once('error', (err) => {
        stderr += `spawn error: ${err.message}`;
      });
      this.child.once('close', (code, signal) => {
        clearTimeout(this.killTimer);
        const read = (name: string) => (existsSync(file(name)) ? readFileSync(file(name), 'latin1') : '');
        const screen = read('screen.log');
        const errors = read('errors.log');
        let stats: SippStats | null = null;
        let statsError = '';
        try {
          stats = parseStats(read('stat.csv'));
        } catch (err) {
          statsError = (err as Error).message;
        }
        const args = this.args;
        resolve({
          code,
          signal,
          stdout,
          stderr,
          stats,
          screen,
          rows: parseScreenRows(screen),
          errors,
          messages: read('messages.log'),
          describe: () =>
            `sipp ${args.join(' ')}\nexit ${code} ${signal ?? ''}\n${statsError}\n--- stderr\n${stderr}\n--- errors\n${errors.slice(0, 4000)}\n--- screen\n${screen.slice(-3000)}`,
        });
      });
    });
  }

  static async start(options: SippOptions): Promise<SippProcess> {
    const sipp = new SippProcess(options);
    // the first child exists once its ports are found (done rejects if none can be)
    await Promise.race([sipp.spawned, sipp.done]);
    return sipp;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Waits until sipp listens on its SIP port (UAS mode), so that the first request is not lost or refused. */
  async waitListening(protocol: 'udp' | 'tcp', port: number, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`sipp exited before listening:\n${(await this.done).describe()}`);
      if (isListening(protocol, port)) return;
      await delay(20);
    }
    throw new Error(`sipp does not listen on ${protocol} port ${port} after ${timeoutMs} ms`);
  }

  kill(): void {
    this.killed = true;
    clearTimeout(this.killTimer);
    if (this.running) this.child.kill('SIGKILL');
  }

  /** Removes the trace directory (kept when a test fails, for inspection). */
  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Runs sipp to completion. */
export async function runSipp(options: SippOptions): Promise<SippResult> {
  const sipp = await SippProcess.start(options);
  try {
    const result = await sipp.done;
    if (result.code === 0) sipp.cleanup();
    return result;
  } finally {
    sipp.kill();
  }
}

/** Whether a local IPv4 socket is bound (UDP) or listening (TCP) on 127.0.0.1/0.0.0.0:port, from /proc/net. */
export function isListening(protocol: 'udp' | 'tcp', port: number): boolean {
  const table = readFileSync(`/proc/net/${protocol}`, 'latin1').split('\n').slice(1);
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  return table.some((line) => {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 4) return false;
    const [addr, p] = cols[1].split(':');
    if (p !== hexPort || (addr !== '0100007F' && addr !== '00000000')) return false;
    return protocol === 'udp' || cols[3] === '0A'; // 0A: TCP_LISTEN
  });
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves once `predicate` holds (polling), or rejects after `timeoutMs`. */
export async function waitFor(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(10);
  }
}
