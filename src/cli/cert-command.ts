/**
 * `sipline cert create`: a self-signed certificate and its key for development TLS and WSS
 * listeners (tls.certificate, tls.private_key). Node has key generation but no X.509 builder, so
 * the openssl command does the work. Production servers use certificates from a real CA.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { hostProblem } from '../config/index.ts';
import { CommandError, UsageError } from './errors.ts';
import type { Output } from './output.ts';

export interface CertOptions {
  out: string;
  name?: string[];
  days?: string;
  force?: boolean;
}

/** The names a development certificate carries when none are given: this machine over loopback. */
export const DEFAULT_CERT_NAMES = ['localhost', '127.0.0.1', '::1'];

export function certCreate(options: CertOptions, out: Output): void {
  const names = options.name !== undefined && options.name.length > 0 ? options.name : DEFAULT_CERT_NAMES;
  for (const n of names) {
    const problem = hostProblem(n);
    if (problem !== null) throw new UsageError(`--name ${JSON.stringify(n)} ${problem}`);
  }
  const days = options.days === undefined ? 365 : Number(options.days);
  if (!Number.isInteger(days) || days < 1 || days > 36500) throw new UsageError(`--days ${JSON.stringify(options.days)} is not a whole number of days from 1 to 36500`);
  const dir = resolve(options.out);
  const certificate = join(dir, 'cert.pem');
  const privateKey = join(dir, 'key.pem');
  if (!options.force) {
    for (const f of [certificate, privateKey]) if (existsSync(f)) throw new CommandError(`${f} exists; give --force to replace it`);
  }
  mkdirSync(dir, { recursive: true });
  // RFC 5922 §7: SIP peers match the subjectAltName (DNS or IP), so every name goes there; the CN is the first
  const san = names.map((n) => (isIP(n.replace(/^\[|\]$/g, '')) !== 0 ? `IP:${n.replace(/^\[|\]$/g, '')}` : `DNS:${n}`)).join(',');
  const args = [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', privateKey, '-out', certificate, '-days', String(days),
    '-subj', `/CN=${names[0].replace(/[/=+]/g, '')}`,
    '-addext', `subjectAltName=${san}`,
    '-addext', 'extendedKeyUsage=serverAuth,clientAuth',
  ];
  const run = spawnSync('openssl', args, { encoding: 'utf8' });
  if (run.error !== undefined) {
    const missing = (run.error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new CommandError(missing ? 'the openssl command is needed to create a certificate: install it (Debian: apt-get install openssl)' : `openssl failed: ${run.error.message}`);
  }
  if (run.status !== 0) throw new CommandError(`openssl failed: ${(run.stderr || run.stdout).trim()}`);
  chmodSync(privateKey, 0o600);
  out.line(`certificate ${certificate}`);
  out.line(`private key ${privateKey}`);
  out.note(`self-signed for ${names.join(', ')}, valid ${days} days; in the config file:`);
  out.note(`  tls: { certificate: ${certificate}, private_key: ${privateKey} }`);
  out.note('clients must trust this certificate (it is its own CA), or not verify it: for development only');
}
