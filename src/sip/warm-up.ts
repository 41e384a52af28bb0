import { createResponse } from './builder.ts';
import type { SipRequest, SipResponse } from './message.ts';
import { parseMessage } from './parser.ts';
import { validateMessage } from './validate.ts';
import { Via } from './via.ts';
import { Parameters } from './parameters.ts';

/**
 * Messages of the shapes a server sees all day (RFC 3261 §24 style): registration with
 * credentials, a call with SDP and its responses, in-dialog ACK and BYE, a keep-alive OPTIONS.
 */
const SAMPLES = [
  'REGISTER sip:warm.invalid SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-w-1;rport\r\nMax-Forwards: 70\r\nFrom: <sip:w@warm.invalid>;tag=w1\r\nTo: <sip:w@warm.invalid>\r\nCall-ID: w-1@192.0.2.1\r\nCSeq: 2 REGISTER\r\nContact: <sip:w@192.0.2.1:5060>;expires=3600\r\nAuthorization: Digest username="w", realm="warm.invalid", nonce="abcdef0123456789", uri="sip:warm.invalid", response="0123456789abcdef0123456789abcdef", algorithm=MD5, qop=auth, nc=00000001, cnonce="c0ffee"\r\nExpires: 3600\r\nUser-Agent: warm-up\r\nContent-Length: 0\r\n\r\n',
  'INVITE sip:callee@warm.invalid SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-w-2\r\nMax-Forwards: 70\r\nFrom: <sip:caller@warm.invalid>;tag=w2\r\nTo: <sip:callee@warm.invalid>\r\nCall-ID: w-2@192.0.2.1\r\nCSeq: 1 INVITE\r\nContact: <sip:caller@192.0.2.1:5060>\r\nContent-Type: application/sdp\r\nContent-Length: 31\r\n\r\nv=0\r\no=w 1 1 IN IP4 192.0.2.1\r\n',
  'SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bK-w-3;rport=5060, SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-w-2;received=192.0.2.1\r\nRecord-Route: <sip:192.0.2.9:5060;lr>\r\nFrom: <sip:caller@warm.invalid>;tag=w2\r\nTo: <sip:callee@warm.invalid>;tag=w4\r\nCall-ID: w-2@192.0.2.1\r\nCSeq: 1 INVITE\r\nContact: <sip:callee@192.0.2.2:5060>\r\nContent-Length: 0\r\n\r\n',
  'ACK sip:callee@192.0.2.2:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-w-5\r\nRoute: <sip:192.0.2.9:5060;lr>\r\nMax-Forwards: 70\r\nFrom: <sip:caller@warm.invalid>;tag=w2\r\nTo: <sip:callee@warm.invalid>;tag=w4\r\nCall-ID: w-2@192.0.2.1\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n',
  'OPTIONS sip:warm.invalid SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-w-6\r\nMax-Forwards: 70\r\nFrom: <sip:w@warm.invalid>;tag=w6\r\nTo: <sip:warm.invalid>\r\nCall-ID: w-6@192.0.2.1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n',
].map((text) => Buffer.from(text, 'latin1'));

/**
 * Runs the codec's hot functions (parse, validate, typed accessors, forwarding edits, response
 * building, serialization) over synthetic messages, so that the JIT has optimized them before the
 * first real datagram: a server started into full load otherwise spends its first second in
 * unoptimized code, long enough for the socket buffer to overflow. Pure: no I/O, no state kept.
 */
export function warmUpCodec(rounds = 1000): void {
  for (let i = 0; i < rounds; i++) {
    for (const bytes of SAMPLES) {
      const message = parseMessage(bytes, { datagram: true });
      validateMessage(message);
      void message.callId;
      void message.cseq;
      void message.to.tag;
      void message.from.tag;
      if (message.isRequest) exerciseRequest(message);
      else exerciseResponse(message);
    }
  }
}

function exerciseRequest(request: SipRequest): void {
  void request.uri;
  void request.routes;
  if (request.method === 'REGISTER') void request.contacts;
  void request.authHeaders('authorization');
  createResponse(request, request.method === 'INVITE' ? 100 : 200).toBuffer();
  const copy = request.clone();
  copy.setMaxForwards(69);
  copy.prependRecordRoute('<sip:192.0.2.9:5060;lr>');
  copy.pushVia(new Via('UDP', '192.0.2.9', 5060, new Parameters().set('branch', 'z9hG4bK-w-x').set('rport')));
  copy.toBuffer();
}

function exerciseResponse(response: SipResponse): void {
  response.popVia();
  void response.via.branch;
  response.toBuffer();
}
