import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';

/**
 * The WebSocket handshake of a `ws`/`wss` listener (RFC 7118 §4.1, RFC 6455 §4.2): a client must
 * offer the `sip` subprotocol and gets it confirmed in Sec-WebSocket-Protocol; a handshake
 * without it is refused with 400 rather than left to speak something else on a SIP port. Plain
 * HTTP requests get 426 Upgrade Required.
 */
export function acceptWebSockets(
  server: Server,
  maxPayload: number,
  onSocket: (socket: WebSocket, request: IncomingMessage) => void,
  onRefused: (why: string, request: IncomingMessage) => void,
): WebSocketServer {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload,
    // SIP messages are small and many: compression costs more CPU than it saves
    perMessageDeflate: false,
    handleProtocols: () => 'sip',
  });
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (!offersSip(request.headers['sec-websocket-protocol'])) {
      onRefused('no sip subprotocol', request);
      refuse(socket, 400, 'Bad Request', 'the WebSocket subprotocol "sip" is required (RFC 7118)');
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => onSocket(ws, request));
  });
  server.on('request', (_request: IncomingMessage, response: ServerResponse) => {
    response.writeHead(426, { Upgrade: 'websocket', Connection: 'Upgrade', 'Sec-WebSocket-Protocol': 'sip' });
    response.end();
  });
  return wss;
}

function offersSip(header: string | undefined): boolean {
  if (header === undefined) return false;
  for (const p of header.split(',')) if (p.trim().toLowerCase() === 'sip') return true;
  return false;
}

function refuse(socket: Duplex, status: number, reason: string, text: string): void {
  socket.once('finish', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
}
