import { pino, type Logger as PinoLogger } from 'pino';
import pretty from 'pino-pretty';

export type Logger = PinoLogger;
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
/** json: one JSON object per line (for collectors); pretty: a human-readable line per event. */
export type LogFormat = 'json' | 'pretty';

export interface LoggerOptions {
  level?: LogLevel;
  name?: string;
  format?: LogFormat;
}

/** Structured logs on stdout; one event per line, with Call-ID and branch as fields where known. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const base = { name: options.name ?? 'sipline', level: options.level ?? 'info' };
  if (options.format !== 'pretty') return pino(base);
  // synchronous, in this thread: lines stay in order with what the CLI prints itself
  return pino(base, pretty({ sync: true, colorize: process.stdout.isTTY === true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name' }));
}

export const silentLogger: Logger = pino({ level: 'silent' });
