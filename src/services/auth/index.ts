export { DigestAuthenticator, type DigestAuthOptions, type AuthKind, type AuthResult, type SubscriberLookup } from './digest-authenticator.ts';
export { computeHa1, computeResponse, type DigestAlgorithm } from './digest.ts';
export { NonceService, NonceCountTable, type NonceCountCheck } from './nonce.ts';
