import tls from 'node:tls';
import type { Destination } from './flow.ts';

/** A certificate chain and its private key, PEM. */
export interface CertificatePair {
  certificate: string | Buffer;
  privateKey: string | Buffer;
}

/**
 * TLS for the `tls` and `wss` listeners and for connections we open to `sips:` and
 * `transport=tls` targets (RFC 3261 §26.2, RFC 5630).
 */
export interface TlsSettings extends CertificatePair {
  /** The oldest protocol version accepted either way (default TLSv1.2). */
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** Certificates by server name, picked by the client's SNI (RFC 6066 §3); "*.example.com" matches one label. */
  domains?: Record<string, CertificatePair>;
  /**
   * Client certificates (mutual TLS for peering trunks): `none` asks for none; `optional` asks,
   * and refuses a presented certificate that does not verify or is not a trusted peer; `required`
   * also refuses clients that present none.
   */
  verifyClients?: 'none' | 'optional' | 'required';
  /** CA certificates (PEM) that client certificates and the servers we connect to must chain to; the system's CAs when absent. */
  ca?: string | Buffer;
  /** Names (subject CN or subjectAltName) a client certificate must carry; any verified certificate when empty. */
  trustedPeers?: string[];
  /** Verify the certificate of servers we connect to (default true; turn off for development only). */
  verifyServer?: boolean;
  /** A TLS handshake must finish within this time (default 10 s). */
  handshakeTimeoutMs?: number;
}

/**
 * The per-domain certificates a listener's SNI callback picks from (RFC 6066 §3): one object per
 * transport layer, whose contents a reload replaces while the listeners keep the same callback.
 */
export class SniCertificates {
  private contexts = new Map<string, tls.SecureContext>();

  load(settings: TlsSettings): void {
    const next = new Map<string, tls.SecureContext>();
    for (const [name, pair] of Object.entries(settings.domains ?? {})) {
      next.set(name.toLowerCase(), tls.createSecureContext({ cert: pair.certificate, key: pair.privateKey, minVersion: settings.minVersion ?? 'TLSv1.2' }));
    }
    this.contexts = next;
  }

  readonly callback = (servername: string, callback: (err: Error | null, context?: tls.SecureContext) => void): void => {
    const name = servername.toLowerCase();
    const dot = name.indexOf('.');
    // no context found: the callback without one makes the server use its default certificate
    callback(null, this.contexts.get(name) ?? (dot > 0 ? this.contexts.get(`*${name.slice(dot)}`) : undefined));
  };
}

/**
 * The TLS server options of a listener: the default certificate, per-domain certificates through
 * SNI (`sni`, loaded here from `settings`), the minimum version, and the client certificate request.
 */
export function tlsServerOptions(settings: TlsSettings, sni = new SniCertificates()): tls.TlsOptions {
  sni.load(settings);
  const verify = settings.verifyClients ?? 'none';
  return {
    ...secureContextOptions(settings),
    handshakeTimeout: settings.handshakeTimeoutMs ?? 10_000,
    requestCert: verify !== 'none',
    // with `optional`, a client without a certificate still gets through; checkClient refuses a bad one
    rejectUnauthorized: verify === 'required',
    SNICallback: sni.callback,
  };
}

/** What tls.Server.setSecureContext() takes: the default certificate, its key, the minimum version and the CA. */
export function secureContextOptions(settings: TlsSettings): tls.SecureContextOptions {
  return { cert: settings.certificate, key: settings.privateKey, minVersion: settings.minVersion ?? 'TLSv1.2', ca: settings.ca };
}

/**
 * Decides on an accepted TLS connection (after the handshake): the trusted peer name it carries
 * (RFC 5922 §7.1: subjectAltName, else the subject CN), undefined for an ordinary client, or
 * null to refuse it: a client certificate that does not verify against `ca`, or that names no
 * trusted peer, or none at all when `required`.
 */
export function checkClient(socket: tls.TLSSocket, settings: TlsSettings): string | undefined | null {
  const verify = settings.verifyClients ?? 'none';
  if (verify === 'none') return undefined;
  const certificate = socket.getPeerCertificate();
  const presented = certificate !== null && Object.keys(certificate).length > 0;
  if (!presented) return verify === 'required' ? null : undefined;
  if (!socket.authorized) return null;
  const names = certificateNames(certificate);
  const trusted = settings.trustedPeers ?? [];
  if (trusted.length === 0) return names[0] ?? '';
  const wanted = new Set(trusted.map((t) => t.toLowerCase()));
  return names.find((n) => wanted.has(n)) ?? null;
}

/** The DNS and IP subjectAltNames of a certificate, then its subject CN, lower-cased. */
export function certificateNames(certificate: tls.PeerCertificate): string[] {
  const names: string[] = [];
  for (const part of (certificate.subjectaltname ?? '').split(',')) {
    const m = /^\s*(DNS|IP Address|URI):(.+)$/.exec(part);
    if (m !== null) names.push(m[2].trim().toLowerCase());
  }
  const cn = certificate.subject?.CN;
  if (typeof cn === 'string') names.push(cn.toLowerCase());
  else if (Array.isArray(cn)) for (const c of cn as string[]) names.push(c.toLowerCase());
  return names;
}

/**
 * Options of a connection we open to a TLS server: verified against `ca` (RFC 5922 §7.2: the
 * certificate must name the host of the target, or its address when we have no name), SNI with
 * that name, and our own certificate for a peer that asks for one.
 */
export function tlsClientOptions(settings: TlsSettings | undefined, target: Destination): tls.ConnectionOptions {
  return {
    host: target.address,
    port: target.port,
    servername: target.hostName,
    ca: settings?.ca,
    cert: settings?.certificate,
    key: settings?.privateKey,
    minVersion: settings?.minVersion ?? 'TLSv1.2',
    rejectUnauthorized: settings?.verifyServer ?? true,
  };
}
