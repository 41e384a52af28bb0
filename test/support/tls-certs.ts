/**
 * Certificates for the TLS and WSS tests, made with the openssl command in a temporary directory:
 * a test CA, certificates it issues (servers and peering-trunk clients), and a self-signed one
 * from `sipline cert create`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Pem {
  certificate: Buffer;
  privateKey: Buffer;
  certificateFile: string;
  privateKeyFile: string;
}

export class TestPki {
  readonly dir = mkdtempSync(join(tmpdir(), 'sipline-pki-'));
  readonly ca: Pem;

  constructor(caName = 'sipline test CA') {
    this.ca = this.selfSigned('ca', caName);
  }

  /** A self-signed CA certificate. */
  private selfSigned(file: string, cn: string): Pem {
    const certificateFile = join(this.dir, `${file}.pem`);
    const privateKeyFile = join(this.dir, `${file}.key`);
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', privateKeyFile, '-out', certificateFile, '-days', '2', '-subj', `/CN=${cn}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ], { stdio: 'pipe' });
    return read(certificateFile, privateKeyFile);
  }

  /** A certificate issued by this CA for a CN and subjectAltNames ("DNS:x", "IP:1.2.3.4"). */
  issue(file: string, cn: string, altNames: string[] = []): Pem {
    const certificateFile = join(this.dir, `${file}.pem`);
    const privateKeyFile = join(this.dir, `${file}.key`);
    const csr = join(this.dir, `${file}.csr`);
    const ext = join(this.dir, `${file}.ext`);
    execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', privateKeyFile, '-out', csr, '-subj', `/CN=${cn}`], { stdio: 'pipe' });
    const lines = ['basicConstraints=CA:FALSE', 'extendedKeyUsage=serverAuth,clientAuth'];
    if (altNames.length > 0) lines.push(`subjectAltName=${altNames.join(',')}`);
    writeFileSync(ext, `${lines.join('\n')}\n`);
    execFileSync('openssl', [
      'x509', '-req', '-in', csr, '-CA', this.ca.certificateFile, '-CAkey', this.ca.privateKeyFile, '-CAcreateserial',
      '-out', certificateFile, '-days', '2', '-extfile', ext,
    ], { stdio: 'pipe' });
    return read(certificateFile, privateKeyFile);
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function read(certificateFile: string, privateKeyFile: string): Pem {
  return { certificate: readFileSync(certificateFile), privateKey: readFileSync(privateKeyFile), certificateFile, privateKeyFile };
}
