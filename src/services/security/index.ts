export { SecurityService, DEFAULT_SECURITY_POLICY, type SecurityPolicy } from './security-service.ts';
export { PeerAcl, type TrustedPeer } from './peer-acl.ts';
export { FloodDetector, type FloodOptions } from './flood-detector.ts';
export { BruteForceGuard, type BruteForceOptions } from './brute-force-guard.ts';
export { FailureCounter, type BackoffPolicy } from './failure-counter.ts';
export { CallLimiter, type CallLimitOptions } from './call-limiter.ts';
export { parseAddressBlock, parseIp, formatIp, canonicalIp, blockContains, isSingleAddress, type AddressBlock } from './address-block.ts';
