export { TransactionLayer, type TransactionUser, type TransactionLayerOptions } from './transaction-layer.ts';
export type { ServerTransactionHandle } from './context.ts';
export type { ClientTransactionHandle, ClientTransactionHandler } from './client-transaction.ts';
export { DEFAULT_TIMERS, type TimerConfig } from './timers.ts';
export { serverKey, clientKey } from './transaction-key.ts';
export { TransactionTable } from './transaction-table.ts';
