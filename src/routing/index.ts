export { RoutingEngine } from './routing-engine.ts';
export { RequestContext, ReplyContext, FailureContext, type RoutingServices, type AuthenticatedUser } from './request-context.ts';
export { defineScript, type RoutingScript } from './script.ts';
export { loadScript } from './script-loader.ts';
export { bindingTargets } from './binding-targets.ts';
export { reachableOverUdpOnly, targetsForBody } from './message-size.ts';
export type { Target } from '../proxy/index.ts';
