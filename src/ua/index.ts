export { resolveUri } from '../dns/index.ts';
export { UserAgent, OutgoingCall, type UserAgentOptions, type RequestSpec, type IncomingRequest } from './user-agent.ts';
export { Dialog } from './dialog.ts';
export { checkRequest, type CheckFailure } from './uas-checks.ts';
