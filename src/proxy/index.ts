export { ProxyCore, ProxyRequest, type ProxyOptions, type ForwardOptions } from './proxy-core.ts';
export { ResponseContext, Branch, type ResponseHooks } from './response-context.ts';
export { LocalIdentity } from './local-identity.ts';
export { RequestOriginator } from './request-originator.ts';
export type { Target } from './target.ts';
export { validateProxyRequest } from './request-validation.ts';
export { preprocessRoute } from './route-processing.ts';
export { loopHash, isLooped } from './loop-detection.ts';
