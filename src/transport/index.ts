export { TransportLayer, type TransportOptions, type WorkerHooks, type ListenSpec, type ListenerInfo, type InboundHandler, type SendErrorHandler } from './transport-layer.ts';
export { isReliable, isSecure, isWebSocket, addressFamily, defaultPort, destinationKey, protocolNamed, type Flow, type Destination, type TransportProtocol } from './flow.ts';
export { responseDestination } from './response-routing.ts';
export type { SourceGuard } from './source-guard.ts';
export type { StreamConnection } from './stream-connection.ts';
export type { Connection } from './connection.ts';
export { certificateNames, type TlsSettings, type CertificatePair } from './tls-settings.ts';
