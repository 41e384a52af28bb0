import { parseArgs } from 'node:util';
import { startServer } from '../app.ts';
import type { LogLevel } from '../shared/index.ts';
import { DEFAULT_LISTEN, parseListenSpec } from './listen-spec.ts';

const USAGE = `Usage: sipline [start] [options]

Starts the SIP server.

Options:
  --listen PROTO:HOST[:PORT]   a listener (repeatable): udp or tcp, IPv4 or [IPv6] host
                               (default: udp:0.0.0.0:5060 and tcp:0.0.0.0:5060)
  --log-level LEVEL            trace, debug, info, warn, error, fatal or silent (default info)
  -h, --help                   this text
`;

const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']);

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        listen: { type: 'string', multiple: true },
        'log-level': { type: 'string', default: 'info' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    process.stderr.write(`sipline: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const command = positionals[0] ?? 'start';
  if (command !== 'start' || positionals.length > 1) {
    process.stderr.write(`sipline: unknown command ${JSON.stringify(positionals.join(' '))}\n\n${USAGE}`);
    return 2;
  }
  const level = values['log-level'] as string;
  if (!LEVELS.has(level)) {
    process.stderr.write(`sipline: --log-level ${JSON.stringify(level)}: use one of ${[...LEVELS].join(', ')}\n`);
    return 2;
  }
  let listen;
  try {
    listen = values.listen !== undefined ? values.listen.map(parseListenSpec) : DEFAULT_LISTEN;
  } catch (err) {
    process.stderr.write(`sipline: ${(err as Error).message}\n`);
    return 2;
  }
  let server;
  try {
    server = await startServer({ listen, logLevel: level as LogLevel });
  } catch (err) {
    process.stderr.write(`sipline: cannot start: ${(err as Error).message}\n`);
    return 1;
  }
  for (const l of server.listeners) {
    process.stdout.write(`sipline listening on ${l.protocol}:${l.host.includes(':') ? `[${l.host}]` : l.host}:${l.port}\n`);
  }
  const stop = async () => {
    await server.stop();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return -1; // keep running
}
