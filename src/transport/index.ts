export { TransportLayer, type TransportOptions, type ListenSpec, type ListenerInfo, type InboundHandler, type SendErrorHandler } from './transport-layer.ts';
export { isReliable, addressFamily, destinationKey, type Flow, type Destination, type TransportProtocol } from './flow.ts';
export { responseDestination } from './response-routing.ts';
export type { StreamConnection } from './stream-connection.ts';
