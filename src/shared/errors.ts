/**
 * The error catalogue: every error sipline raises on purpose carries a stable code, so logs,
 * metrics and API answers can be matched on the code rather than on message text.
 */
export const ErrorCode = {
  ParseError: 'SIP_PARSE',
  TransportError: 'TRANSPORT',
  MessageTooLarge: 'MESSAGE_TOO_LARGE',
  TransactionError: 'TRANSACTION',
  ConfigError: 'CONFIG',
  InvalidArgument: 'INVALID_ARGUMENT',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class SiplineError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'SiplineError';
    this.code = code;
  }
}
