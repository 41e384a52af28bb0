import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export interface LoggerOptions {
  level?: LogLevel;
  name?: string;
}

/** Structured (JSON) logs; one line per event, with Call-ID and branch as fields where known. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino({ name: options.name ?? 'sipline', level: options.level ?? 'info' });
}

export const silentLogger: Logger = pino({ level: 'silent' });
