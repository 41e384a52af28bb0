/**
 * baresip (Debian package baresip, 1.0) as a headless phone for the integration tests: a config
 * directory made per instance (SIP on 127.0.0.1 only, G.711, the aubridge audio driver instead of
 * sound devices, menu + ctrl_tcp for commands), one account registering through sipline, and a
 * client for ctrl_tcp (netstring-framed JSON: commands with a token, responses, events). Every
 * process is bounded (baresip -t, a kill timer) and killed by stop().
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { delay, freePort } from './sipp.ts';

export const BARESIP = '/usr/bin/baresip';

export function baresipAvailable(): boolean {
  return existsSync(BARESIP) && existsSync('/usr/lib/baresip/modules/ctrl_tcp.so') && existsSync('/usr/lib/baresip/modules/aubridge.so');
}

export interface BaresipOptions {
  user: string;
  password: string;
  domain: string;
  /** The proxy as outbound proxy: "127.0.0.1:port". */
  proxy: string;
  sipPort: number;
  ctrlPort: number;
  /** manual (answer with the accept command) or auto. */
  answerMode?: 'manual' | 'auto';
  /** baresip quits by itself after this many seconds. */
  lifetimeSeconds?: number;
  /** The transport of the account and of the outbound proxy (default udp). */
  transport?: 'udp' | 'tcp' | 'tls';
  /** CA certificates (PEM file) that the proxy's TLS certificate must chain to (sip_cafile). */
  caFile?: string;
  /**
   * Lines of the contacts file ("Name" <sip:user@domain>); with any, the contact module is loaded,
   * whose `message` command sends a MESSAGE to the current contact (the first one).
   */
  contacts?: string[];
  /**
   * Load the presence module: the account PUBLISHes its status (pubint, commands presence_online
   * and presence_offline), and contacts marked `;presence=p2p` are SUBSCRIBEd to.
   */
  presence?: boolean;
}

/**
 * A baresip phone for a user of the proxy fixture (test/support/proxy.ts: example.test), with the
 * proxy as outbound proxy and free SIP and control ports; `options` adds or overrides the rest.
 */
export async function startUserPhone(user: string, password: string, proxyAddress: string, options: Partial<BaresipOptions> = {}): Promise<Baresip> {
  return Baresip.start({
    user,
    password,
    domain: 'example.test',
    proxy: proxyAddress,
    sipPort: await freePort(),
    ctrlPort: await freePort(),
    lifetimeSeconds: 70,
    ...options,
  });
}

export interface BaresipEvent {
  type: string;
  class?: string;
  param?: string;
  peeruri?: string;
  [key: string]: unknown;
}

interface Pending {
  resolve(response: { ok: boolean; data: string }): void;
}

export class Baresip {
  readonly dir: string;
  readonly child: ChildProcess;
  readonly events: BaresipEvent[] = [];
  output = '';
  private socket: net.Socket | null = null;
  private buffer = Buffer.alloc(0);
  private readonly pending = new Map<string, Pending>();
  private token = 0;
  private readonly killTimer: NodeJS.Timeout;
  readonly exited: Promise<number | null>;

  private constructor(private readonly options: BaresipOptions) {
    this.dir = mkdtempSync(join(tmpdir(), `sipline-baresip-${options.user}-`));
    const config = [
      'poll_method epoll',
      `sip_listen 127.0.0.1:${options.sipPort}`,
      // media on loopback only: baresip otherwise picks the address of the default interface
      'net_interface 127.0.0.1',
      'call_local_timeout 30',
      'call_max_calls 4',
      // no sound devices: aubridge connects a source and a player of the same device name
      `audio_player aubridge,${options.user}`,
      `audio_source aubridge,${options.user}`,
      `audio_alert aubridge,${options.user}`,
      'rtp_ports 30000-39998',
      ...(options.caFile !== undefined ? [`sip_cafile ${options.caFile}`] : []),
      'module_path /usr/lib/baresip/modules',
      'module g711.so',
      'module aubridge.so',
      'module_tmp account.so',
      ...((options.contacts !== undefined && options.contacts.length > 0) || options.presence === true ? ['module_app contact.so'] : []),
      ...(options.presence === true ? ['module_app presence.so'] : []),
      'module_app menu.so',
      'module_app ctrl_tcp.so',
      `ctrl_tcp_listen 127.0.0.1:${options.ctrlPort}`,
      '',
    ].join('\n');
    writeFileSync(join(this.dir, 'config'), config);
    const transport = options.transport ?? 'udp';
    const account =
      `<sip:${options.user}@${options.domain};transport=${transport}>;auth_pass=${options.password};` +
      `outbound="sip:${options.proxy}${transport === 'udp' ? '' : `;transport=${transport}`}";regint=60;${options.presence === true ? 'pubint=60;' : ''}answermode=${options.answerMode ?? 'manual'};audio_codecs=pcmu\n`;
    writeFileSync(join(this.dir, 'accounts'), account);
    writeFileSync(join(this.dir, 'contacts'), (options.contacts ?? []).map((c) => `${c}\n`).join(''));
    const lifetime = options.lifetimeSeconds ?? 60;
    this.child = spawn(BARESIP, ['-f', this.dir, '-s', '-t', String(lifetime)], { cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    const collect = (d: Buffer) => {
      // the SIP trace is ANSI-coloured and padded with NULs; keep it readable
      this.output += d.toString('latin1').replace(/\u0000+/g, '').replace(/\u001b\[[0-9;]*m/g, '');
      if (this.output.length > 2_000_000) this.output = this.output.slice(-1_000_000);
    };
    this.child.stdout?.on('data', collect);
    this.child.stderr?.on('data', collect);
    this.killTimer = setTimeout(() => this.stop(), (lifetime + 5) * 1000);
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  static async start(options: BaresipOptions): Promise<Baresip> {
    const b = new Baresip(options);
    await b.connect();
    return b;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Connects to ctrl_tcp once baresip listens (it does when its modules are loaded). */
  private async connect(): Promise<void> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (!this.running) throw new Error(`baresip exited before ctrl_tcp was ready:\n${this.output}`);
      try {
        this.socket = await new Promise<net.Socket>((resolve, reject) => {
          const s = net.connect(this.options.ctrlPort, '127.0.0.1');
          s.once('connect', () => resolve(s));
          s.once('error', reject);
        });
        break;
      } catch {
        if (Date.now() > deadline) throw new Error(`baresip ctrl_tcp does not listen on ${this.options.ctrlPort}:\n${this.output}`);
        await delay(50);
      }
    }
    this.socket.on('data', (d: Buffer) => this.receive(d));
    this.socket.on('error', () => {});
  }

  /** netstring: "<length>:<bytes>," */
  private receive(data: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, data]);
    for (;;) {
      const colon = this.buffer.indexOf(0x3a);
      if (colon < 0) return;
      const length = Number(this.buffer.subarray(0, colon).toString('latin1'));
      if (!Number.isInteger(length) || this.buffer.length < colon + 1 + length + 1) return;
      const text = this.buffer.subarray(colon + 1, colon + 1 + length).toString('utf8');
      this.buffer = this.buffer.subarray(colon + 1 + length + 1);
      let message: Record<string, unknown>;
      try {
        message = JSON.parse(text) as Record<string, unknown>;
      } catch {
        continue;
      }
      if (message.event === true) {
        this.events.push(message as unknown as BaresipEvent);
      } else if (message.response === true && typeof message.token === 'string') {
        this.pending.get(message.token)?.resolve({ ok: message.ok === true, data: String(message.data ?? '').replace(/\u001b\[[0-9;]*m/g, '') });
        this.pending.delete(message.token);
      }
    }
  }

  /** Sends a command ({"command", "params", "token"}) and resolves with its response. */
  command(command: string, params = '', timeoutMs = 5000): Promise<{ ok: boolean; data: string }> {
    const token = String(++this.token);
    const json = Buffer.from(JSON.stringify({ command, params, token }), 'utf8');
    this.socket?.write(Buffer.concat([Buffer.from(`${json.length}:`), json, Buffer.from(',')]));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(token);
        reject(new Error(`baresip did not answer "${command}" in ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(token, {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
      });
    });
  }

  /** Waits for an event of this type (e.g. REGISTER_OK, CALL_INCOMING, CALL_ESTABLISHED, CALL_CLOSED). */
  async waitEvent(type: string, timeoutMs: number): Promise<BaresipEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const e = this.events.find((x) => x.type === type);
      if (e !== undefined) return e;
      if (!this.running) throw new Error(`baresip exited while waiting for ${type}:\n${this.output.slice(-6000)}`);
      if (Date.now() > deadline) throw new Error(`no ${type} event from baresip ${this.options.user} in ${timeoutMs} ms; events: ${this.events.map((x) => x.type).join(', ')}\n${this.output.slice(-6000)}`);
      await delay(20);
    }
  }

  async stop(): Promise<void> {
    clearTimeout(this.killTimer);
    this.socket?.destroy();
    if (this.running) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.running && this.child.kill('SIGKILL'), 2000);
      await this.exited;
      clearTimeout(timer);
    }
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
