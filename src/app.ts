import { Counters, createLogger, type Logger, type LogLevel } from './shared/index.ts';
import type { ListenSpec, ListenerInfo } from './transport/index.ts';
import { checkRequest, UserAgent, type IncomingRequest } from './ua/index.ts';

/**
 * The composition root. Until the registrar and proxy land, the server is the SIP stack with a
 * small transaction user: OPTIONS is answered with 200 (a keep-alive and capability probe),
 * requests within a dialog we do not have with 481, requests for users with 404, and methods we
 * do not implement with 501 and an Allow list, each through a real server transaction.
 */
export interface ServerConfig {
  listen: ListenSpec[];
  logLevel?: LogLevel;
  logger?: Logger;
}

export interface RunningServer {
  readonly listeners: ListenerInfo[];
  readonly counters: Counters;
  stop(): Promise<void>;
}

export const ALLOWED_METHODS = ['OPTIONS', 'ACK', 'CANCEL'];
const SUPPORTED_EXTENSIONS: ReadonlySet<string> = new Set();
/** Methods a full server handles; answered 404 (no such user) rather than 501 until the server issue lands. */
const USER_METHODS = new Set(['INVITE', 'MESSAGE', 'SUBSCRIBE', 'PUBLISH', 'REFER', 'NOTIFY', 'REGISTER']);
const DIALOG_METHODS = new Set(['BYE', 'INFO', 'UPDATE', 'PRACK']);

export async function startServer(config: ServerConfig): Promise<RunningServer> {
  const logger = config.logger ?? createLogger({ level: config.logLevel ?? 'info' });
  const counters = new Counters();
  const ua = await UserAgent.create({ listen: config.listen, logger, counters, user: 'sipline' });
  ua.onRequest = (incoming) => answer(incoming);
  return {
    listeners: ua.transport.listeners(),
    counters,
    stop: () => ua.close(),
  };
}

function answer(incoming: IncomingRequest): void {
  const request = incoming.request;
  const failure = checkRequest(request, SUPPORTED_EXTENSIONS);
  if (failure !== null) {
    incoming.respond(failure.status, { headers: failure.headers });
    return;
  }
  const allow: [string, string] = ['Allow', ALLOWED_METHODS.join(', ')];
  if (request.method === 'OPTIONS') {
    incoming.respond(200, { headers: [allow, ['Accept', 'application/sdp'], ['Supported', '']].filter(([, v]) => v !== '') as Array<[string, string]> });
  } else if (DIALOG_METHODS.has(request.method) || (request.to.tag !== undefined && USER_METHODS.has(request.method))) {
    incoming.respond(481);
  } else if (USER_METHODS.has(request.method)) {
    incoming.respond(request.method === 'REGISTER' ? 501 : 404, { headers: [allow] });
  } else {
    incoming.respond(501, { headers: [allow] });
  }
}
