import { DIGIT, HEX, HOSTNAME } from './charset.ts';
import { HeaderScanner } from './header-scanner.ts';
import { Parameters } from './parameters.ts';
import { classifyHost } from './uri.ts';

/** One Via value (RFC 3261 §20.42): sent-protocol, sent-by and parameters. */
export class Via {
  constructor(
    public transport: string,
    /** sent-by host without IPv6 brackets */
    public host: string,
    public port: number | null = null,
    public params: Parameters = new Parameters(),
    public protocolName = 'SIP',
    public protocolVersion = '2.0',
  ) {}

  get branch(): string | undefined {
    return this.params.get('branch') ?? undefined;
  }

  get received(): string | undefined {
    const r = this.params.get('received');
    if (r === null || r === undefined) return undefined;
    // RFC 5118 §4.5: tolerate an IPv6 received value written with brackets
    return r.charCodeAt(0) === 91 && r.endsWith(']') ? r.slice(1, -1) : r;
  }

  /** rport (RFC 3581): undefined when absent, null when present without a value. */
  get rport(): number | null | undefined {
    const r = this.params.get('rport');
    if (r === undefined) return undefined;
    if (r === null || r === '') return null;
    const n = Number(r);
    return Number.isInteger(n) ? n : null;
  }

  get sentBy(): string {
    const h = classifyHost(this.host) === 'ipv6' ? `[${this.host}]` : this.host;
    return this.port === null ? h : `${h}:${this.port}`;
  }

  clone(): Via {
    return new Via(this.transport, this.host, this.port, this.params.clone(), this.protocolName, this.protocolVersion);
  }

  toString(): string {
    return `${this.protocolName}/${this.protocolVersion}/${this.transport} ${this.sentBy}${this.params.toString()}`;
  }
}

const SIP = ['SIP'];
const VERSION = ['2.0'];
const TRANSPORTS = ['UDP', 'TCP', 'TLS'];

/** via-parm = sent-protocol LWS sent-by *( SEMI via-params ), with SWS around "/" (RFC 3261 §25.1). */
export function parseVia(value: string): Via {
  const sc = new HeaderScanner(value, 'Via');
  sc.skipWs();
  const protocolName = sc.knownToken(SIP);
  sc.skipWs();
  sc.expect(47, '"/"');
  sc.skipWs();
  const protocolVersion = sc.knownToken(VERSION);
  sc.skipWs();
  sc.expect(47, '"/"');
  sc.skipWs();
  const written = sc.knownToken(TRANSPORTS);
  const transport = written === 'UDP' || written === 'TCP' || written === 'TLS' ? written : written.toUpperCase();
  const before = sc.i;
  sc.skipWs();
  if (sc.i === before) sc.fail('expected whitespace before sent-by');
  let host: string;
  if (sc.peek() === 91 /* [ */) {
    const close = value.indexOf(']', sc.i);
    if (close < 0) sc.fail('unterminated IPv6 reference');
    host = value.slice(sc.i + 1, close);
    for (let i = 0; i < host.length; i++) {
      const c = host.charCodeAt(i);
      if (!HEX[c] && c !== 58 && c !== 46) sc.fail('bad IPv6 reference');
    }
    sc.i = close + 1;
  } else {
    const start = sc.i;
    while (sc.i < sc.end && HOSTNAME[value.charCodeAt(sc.i)] === 1) sc.i++;
    host = value.slice(start, sc.i);
    if (host.length === 0) sc.fail('missing sent-by host');
  }
  let port: number | null = null;
  sc.skipWs();
  if (sc.peek() === 58 /* : */) {
    sc.i++;
    sc.skipWs();
    const start = sc.i;
    while (sc.i < sc.end && DIGIT[value.charCodeAt(sc.i)] === 1) sc.i++;
    if (sc.i === start || sc.i - start > 5) sc.fail('bad port');
    port = Number(value.slice(start, sc.i));
    if (port > 65535) sc.fail('port out of range');
  }
  const params = sc.params();
  sc.skipWs();
  if (!sc.atEnd()) sc.fail(`unexpected ${JSON.stringify(value[sc.i])}`);
  return new Via(transport, host, port, params, protocolName, protocolVersion);
}
