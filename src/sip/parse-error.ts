import { ErrorCode, SiplineError } from '../shared/index.ts';

/** Why a message or a header could not be parsed; stable strings for logs and metrics. */
export type ParseFailure =
  | 'empty'
  | 'start-line'
  | 'version'
  | 'status-code'
  | 'method'
  | 'request-uri'
  | 'header-line'
  | 'header-name'
  | 'header-value'
  | 'missing-header'
  | 'duplicate-header'
  | 'content-length'
  | 'truncated-body'
  | 'too-large'
  | 'too-many-headers'
  | 'cseq-mismatch'
  | 'uri';

/**
 * The only error the codec throws on bad bytes. `statusCode` is the response an element should
 * send when it can form one (RFC 3261 §8.2, §21.4.1; 505 for an unknown SIP version).
 */
export class SipParseError extends SiplineError {
  readonly reason: ParseFailure;
  readonly statusCode: number;
  /** The explanation without the reason prefix. */
  readonly detail: string;
  constructor(reason: ParseFailure, detail: string, statusCode = 400) {
    super(ErrorCode.ParseError, `${reason}: ${detail}`);
    this.name = 'SipParseError';
    this.reason = reason;
    this.detail = detail;
    this.statusCode = statusCode;
  }
}
