import type { ListenerInfo } from '../transport/index.ts';

/** What a worker reports when it stops: its transport counters (for the primary's summary). */
export interface WorkerReport {
  counters: Record<string, number>;
}

/** Worker → primary (IPC). */
export type ToPrimary =
  | { t: 'ready'; index: number; linkPort: number; listeners: ListenerInfo[]; summary: string[] }
  | { t: 'bindings'; from: number; changes: Array<[string, unknown[]]>; to?: number }
  | { t: 'stopped'; index: number; counters: WorkerReport['counters'] }
  | { t: 'failed'; index: number; reason: string }
  | { t: 'snapshot-end'; from: number; to: number };

/** Primary → worker (IPC). */
export type FromPrimary =
  | { t: 'peers'; ports: number[] }
  | { t: 'bindings'; from: number; changes: Array<[string, unknown[]]> }
  | { t: 'snapshot'; to: number }
  /** The worker has every binding: it takes the datagrams it owns from now on. */
  | { t: 'synced' }
  | { t: 'reload' }
  | { t: 'stop' };
