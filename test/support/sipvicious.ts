/**
 * Runs the sipvicious attack tools (Debian package sipvicious: svwar, svcrack, svmap; newer
 * packagings name them sipvicious_svwar etc.) as real attackers, bound to a loopback address of
 * their own, each bounded in time by a kill timer.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface ToolResult {
  code: number | null;
  /** stdout and stderr together: the tools log their findings on stderr and print tables on stdout. */
  output: string;
  describe(): string;
}

/** The path of a sipvicious tool ('svwar', 'svcrack', 'svmap'), whichever name the package installed. */
export function sipviciousTool(name: 'svwar' | 'svcrack' | 'svmap'): string {
  for (const candidate of [`/usr/bin/${name}`, `/usr/bin/sipvicious_${name}`, `/usr/local/bin/sipvicious_${name}`]) {
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(`sipvicious ${name} is not installed (apt-get install sipvicious; scripts/install-peers.sh does it)`);
}

export function runTool(path: string, args: string[], timeoutMs: number): Promise<ToolResult> {
  const child = spawn(path, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOME: process.env.HOME ?? '/tmp' } });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (output += d.toString('utf8')));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) => {
    child.once('error', (err) => (output += `spawn error: ${err.message}\n`));
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output, describe: () => `${path} ${args.join(' ')}\nexit ${code}\n${output.slice(-6000)}` });
    });
  });
}
