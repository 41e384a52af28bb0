/**
 * Drives test/support/jssip-child.ts (a JsSIP user agent over WebSocket in a child process):
 * start it, wait for its events, send it commands, stop it. Every child is bounded in time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { delay } from './sipp.ts';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'jssip-child.ts');
/** The repository root, where `--import tsx` resolves. */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface JsSipEvent {
  event: string;
  [key: string]: unknown;
}

export interface JsSipOptions {
  /** ws://127.0.0.1:PORT or wss://... */
  url: string;
  /** The account, sip:user@domain. */
  uri: string;
  password: string;
  /** A CA (PEM file) the wss server's certificate must chain to. */
  ca?: string;
  lifetimeMs?: number;
}

export class JsSipAgent {
  readonly events: JsSipEvent[] = [];
  output = '';
  private readonly child: ChildProcess;
  readonly exited: Promise<number | null>;

  constructor(options: JsSipOptions) {
    const config = JSON.stringify({ ...options, lifetimeMs: options.lifetimeMs ?? 30_000 });
    this.child = spawn(process.execPath, ['--import', 'tsx', CHILD, config], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    // bounded even if the child's own lifetime timer never fires
    const killTimer = setTimeout(() => this.child.kill('SIGKILL'), (options.lifetimeMs ?? 30_000) + 5_000);
    killTimer.unref();
    let pending = '';
    this.child.stdout?.on('data', (d: Buffer) => {
      pending += d.toString('utf8');
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        try {
          this.events.push(JSON.parse(line) as JsSipEvent);
        } catch {
          this.output += `${line}\n`;
        }
      }
    });
    this.child.stderr?.on('data', (d: Buffer) => (this.output += d.toString('utf8')));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async waitEvent(name: string, timeoutMs: number, match: (e: JsSipEvent) => boolean = () => true): Promise<JsSipEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const e = this.events.find((x) => x.event === name && match(x));
      if (e !== undefined) return e;
      if (!this.running) throw new Error(`JsSIP exited while waiting for ${name}; events ${JSON.stringify(this.events)}\n${this.output}`);
      if (Date.now() > deadline) throw new Error(`no ${name} from JsSIP in ${timeoutMs} ms; events ${JSON.stringify(this.events)}\n${this.output}`);
      await delay(20);
    }
  }

  sendMessage(target: string, body: string): void {
    this.child.stdin?.write(`${JSON.stringify({ cmd: 'message', target, body })}\n`);
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.child.stdin?.write(`${JSON.stringify({ cmd: 'stop' })}\n`);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await this.exited;
    clearTimeout(timer);
  }
}
