/**
 * A JsSIP user agent (the JavaScript SIP library of browser softphones) run in its own Node
 * process, with the `ws` package as its WebSocket: the globals JsSIP needs stay out of the test
 * process. Configured by one JSON argument; reports events as JSON lines on stdout and takes
 * commands as JSON lines on stdin. Exits by itself after `lifetimeMs`.
 *
 * argv[2]: {"url", "uri", "password", "ca"?: PEM file, "lifetimeMs"}
 * stdin:  {"cmd":"message","target","body"} | {"cmd":"stop"}
 * stdout: {"event":"registered"|"registrationFailed"|"message"|"messageSent"|"messageFailed"|"disconnected", ...}
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import JsSIP from 'jssip';
import type { IncomingMessageEvent, OutgoingMessageEvent } from 'jssip/lib/UA.js';
import { WebSocket as NodeWebSocket } from 'ws';

interface Options {
  url: string;
  uri: string;
  password: string;
  ca?: string;
  lifetimeMs: number;
}

const options = JSON.parse(process.argv[2]) as Options;
const ca = options.ca === undefined ? undefined : readFileSync(options.ca);
const report = (event: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(event)}\n`);

// JsSIP opens `new WebSocket(url, 'sip')` as a browser would; the server's certificate is verified against `ca`
class WebSocketForJsSip extends NodeWebSocket {
  constructor(url: string, protocols?: string | string[]) {
    super(url, protocols, { ca });
  }
}
(globalThis as unknown as { WebSocket: unknown }).WebSocket = WebSocketForJsSip;

const socket = new JsSIP.WebSocketInterface(options.url);
const ua = new JsSIP.UA({ sockets: [socket], uri: options.uri, password: options.password, register: true, register_expires: 600, user_agent: 'JsSIP (sipline test)' });
ua.on('registered', (e) => report({ event: 'registered', status: e.response.status_code, contact: e.response.getHeader('Contact') }));
ua.on('registrationFailed', (e) => report({ event: 'registrationFailed', cause: e.cause, status: e.response?.status_code }));
ua.on('disconnected', () => report({ event: 'disconnected' }));
ua.on('newMessage', (event: IncomingMessageEvent | OutgoingMessageEvent) => {
  if (event.originator !== 'remote') return;
  const e = event as IncomingMessageEvent;
  report({ event: 'message', from: e.request.from.uri.toString(), body: e.request.body, via: e.request.getHeader('Via') });
});
ua.start();

createInterface({ input: process.stdin }).on('line', (line) => {
  const command = JSON.parse(line) as { cmd: string; target?: string; body?: string };
  if (command.cmd === 'message') {
    ua.sendMessage(command.target as string, command.body as string, {
      eventHandlers: {
        succeeded: (e) => report({ event: 'messageSent', status: e.response.status_code }),
        failed: (e) => report({ event: 'messageFailed', cause: e.cause, status: e.response?.status_code }),
      },
    });
  } else if (command.cmd === 'stop') {
    ua.stop();
    setTimeout(() => process.exit(0), 300);
  }
});
setTimeout(() => process.exit(3), options.lifetimeMs).unref();
