export { UserAgent, OutgoingCall, resolveUri, type UserAgentOptions, type RequestSpec, type IncomingRequest } from './user-agent.ts';
export { Dialog } from './dialog.ts';
export { checkRequest, type CheckFailure } from './uas-checks.ts';
