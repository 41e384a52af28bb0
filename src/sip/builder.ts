import { newTag } from '../shared/index.ts';
import { headerKey } from './header-names.ts';
import { HeaderField, SipRequest, SipResponse } from './message.ts';
import type { Uri } from './uri.ts';

/** Default reason phrases (RFC 3261 §21 and extensions in common use). */
export const REASON_PHRASES: Record<number, string> = {
  100: 'Trying',
  180: 'Ringing',
  181: 'Call Is Being Forwarded',
  182: 'Queued',
  183: 'Session Progress',
  200: 'OK',
  202: 'Accepted',
  300: 'Multiple Choices',
  301: 'Moved Permanently',
  302: 'Moved Temporarily',
  305: 'Use Proxy',
  380: 'Alternative Service',
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  410: 'Gone',
  412: 'Conditional Request Failed',
  413: 'Request Entity Too Large',
  414: 'Request-URI Too Long',
  415: 'Unsupported Media Type',
  416: 'Unsupported URI Scheme',
  420: 'Bad Extension',
  421: 'Extension Required',
  423: 'Interval Too Brief',
  429: 'Too Many Requests',
  480: 'Temporarily Unavailable',
  481: 'Call/Transaction Does Not Exist',
  482: 'Loop Detected',
  483: 'Too Many Hops',
  484: 'Address Incomplete',
  485: 'Ambiguous',
  486: 'Busy Here',
  487: 'Request Terminated',
  488: 'Not Acceptable Here',
  489: 'Bad Event',
  491: 'Request Pending',
  493: 'Undecipherable',
  500: 'Server Internal Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Server Time-out',
  505: 'Version Not Supported',
  513: 'Message Too Large',
  600: 'Busy Everywhere',
  603: 'Decline',
  604: 'Does Not Exist Anywhere',
  606: 'Not Acceptable',
};

export function reasonPhrase(status: number): string {
  return REASON_PHRASES[status] ?? REASON_PHRASES[Math.floor(status / 100) * 100] ?? 'Unknown';
}

export interface ResponseOptions {
  reason?: string;
  /** To tag to add when the request's To has none (ignored for 100, RFC 3261 §8.2.6.2). */
  toTag?: string;
  headers?: Array<[string, string]>;
  body?: Buffer | string;
  contentType?: string;
}

/**
 * Builds a response to a request (RFC 3261 §8.2.6): Via, From, To, Call-ID and CSeq copied as
 * they are, a To tag added unless the status is 100 or the To already has one. The header values
 * are copied as text, so a request that failed validation can still be answered.
 */
export function createResponse(request: SipRequest, status: number, options: ResponseOptions = {}): SipResponse {
  const headers: HeaderField[] = [];
  const share = request.answersWithOwnFields;
  for (const f of request.headers) {
    const key = f.key;
    if (key !== 'via' && key !== 'from' && key !== 'to' && key !== 'call-id' && key !== 'cseq') continue;
    if (key === 'to' && status > 100 && !hasTag(f.value)) headers.push(new HeaderField(f.name, key, f.value + ';tag=' + (options.toTag ?? newTag())));
    else headers.push(share ? f : new HeaderField(f.name, key, f.value));
  }
  for (const [name, value] of options.headers ?? []) headers.push(new HeaderField(name, headerKey(name), value));
  const response = request.answerWith(status, options.reason ?? reasonPhrase(status), headers);
  if (options.body !== undefined) response.setBody(options.body, options.contentType);
  else headers.push(new HeaderField('Content-Length', 'content-length', '0'));
  return response;
}

/** Whether a To/From value carries a tag parameter (after the URI's closing ">", or after the
 * first ";" of an addr-spec, where every parameter is a header parameter). */
function hasTag(value: string): boolean {
  const close = value.lastIndexOf('>');
  let i = close >= 0 ? close + 1 : 0;
  const lower = value.toLowerCase();
  for (;;) {
    i = lower.indexOf(';', i);
    if (i < 0) return false;
    i++;
    while (lower.charCodeAt(i) === 32 || lower.charCodeAt(i) === 9) i++;
    if (lower.startsWith('tag', i)) {
      let j = i + 3;
      while (lower.charCodeAt(j) === 32 || lower.charCodeAt(j) === 9) j++;
      if (lower.charCodeAt(j) === 61) return true;
    }
  }
}

export interface RequestOptions {
  method: string;
  uri: Uri | string;
  headers: Array<[string, string]>;
  body?: Buffer | string;
  contentType?: string;
}

/** Builds a request from header values (the UA layer fills in Via, From, To, Call-ID, CSeq). */
export function createRequest(options: RequestOptions): SipRequest {
  const fields = options.headers.map(([name, value]) => new HeaderField(name, headerKey(name), value));
  const request = new SipRequest(options.method, options.uri, fields);
  if (options.body !== undefined) request.setBody(options.body, options.contentType);
  else if (!request.has('content-length')) request.add('Content-Length', '0');
  return request;
}
