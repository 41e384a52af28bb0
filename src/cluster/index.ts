export { WorkerNode, type WorkerSettings, type WorkerChannel, type SharedBindingTable } from './worker-node.ts';
export { branchWorker, datagramOwner, HOME_WORKER, UNKNOWN } from './datagram-owner.ts';
export { runPrimary, type PrimaryOptions, type PrimaryHandle } from './primary.ts';
export type { FromPrimary, ToPrimary, WorkerReport } from './messages.ts';
export { workerSettingsFromEnvironment } from './primary.ts';
