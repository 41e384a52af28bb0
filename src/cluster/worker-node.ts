import { createHmac } from 'node:crypto';
import { setBranchTag, type Logger } from '../shared/index.ts';
import type { SipResponse } from '../sip/index.ts';
import type { Destination, Flow, ListenSpec, ListenerInfo, TransportLayer, WorkerHooks } from '../transport/index.ts';
import { branchWorker, datagramOwner, HOME_WORKER, UNKNOWN } from './datagram-owner.ts';
import { WorkerLink } from './worker-link.ts';
import type { FromPrimary, ToPrimary, WorkerReport } from './messages.ts';

const SNAPSHOT_CHUNK = 5000;

/** What the primary process tells a worker when it forks it. */
export interface WorkerSettings {
  index: number;
  count: number;
  /** Shared by all workers: nonces, flow tokens and topology tokens made by one are valid in all. */
  secret: Buffer;
  /** The home worker's stream listeners (every worker but the home one). */
  remoteStreams?: ListenSpec[];
  /** Link ports of the workers already serving, by index (0: none). */
  peers?: number[];
  /** The IPC channel to the primary (process.send / process.on('message') in a cluster worker). */
  channel: WorkerChannel;
}

export interface WorkerChannel {
  /** `sent`: called once the message is handed to the channel. */
  send(message: ToPrimary, sent?: () => void): void;
  onMessage(listener: (message: FromPrimary) => void): void;
}

/**
 * The bindings table as worker mode shares it (LocationService): a change made here is sent to
 * the other workers as the AOR's whole binding set, and theirs are applied here.
 */
export interface SharedBindingTable<B> {
  aors(): IterableIterator<string>;
  bindingsOf(aor: string): B[];
  applyPeer(aor: string, bindings: readonly B[]): void;
  onChange(listener: (aor: string, change: 'saved' | 'removed' | 'expired', fromPeer: boolean) => void): void;
}

/**
 * One worker process of a server started with --workers N. All workers read the same UDP
 * sockets (the cluster shares them); each datagram is handed to the worker that owns it
 * (datagram-owner.ts) over the WorkerLink. The home worker (0) also holds every stream
 * listener; the others hand it what they send over streams. Binding changes are copied to every
 * worker through the primary, coalesced per event-loop turn.
 */
export class WorkerNode {
  readonly index: number;
  readonly count: number;
  private readonly link: WorkerLink;
  private transport: TransportLayer | undefined;
  private readonly changedAors = new Set<string>();
  private flushScheduled = false;
  /** Until the primary says so, this worker lacks bindings: it hands every datagram to the home worker. */
  private synced = false;
  private table: SharedBindingTable<unknown> | undefined;
  private onStop: (() => Promise<WorkerReport['counters']>) | undefined;
  private onReload: (() => Promise<void>) | undefined;

  constructor(
    private readonly settings: WorkerSettings,
    private readonly logger: Logger,
  ) {
    this.index = settings.index;
    this.count = settings.count;
    this.link = new WorkerLink({
      onDatagram: (data, listener, address, port) => this.transport?.receiveHandedOver(data, listener, address, port),
      onStreamSend: (data, destination) => this.transport?.sendBytes(data, destination),
      onStreamResponse: (data, source) => this.transport?.receiveHandedOverResponse(data, source),
      onError: (err) => logger.warn({ err: err.message, worker: this.index }, 'worker link error'),
    });
    if (settings.peers !== undefined) this.link.setPeers(settings.peers);
    settings.channel.onMessage((message) => this.receive(message));
    setBranchTag(this.index);
  }

  get isHome(): boolean {
    return this.index === HOME_WORKER;
  }

  /** A key for `purpose`, the same in every worker of the server. */
  derivedKey(purpose: string): Buffer {
    return createHmac('sha256', this.settings.secret).update(purpose).digest();
  }

  async open(): Promise<void> {
    await this.link.open();
  }

  /** The transport's side of worker mode. */
  transportHooks(): WorkerHooks {
    return {
      handOver: (data: Buffer, listener: number, flow: Flow) => {
        const owner = this.synced ? datagramOwner(data, this.count) : HOME_WORKER;
        if (owner === UNKNOWN || owner === this.index || !this.link.reaches(owner)) return false;
        this.link.forwardDatagram(owner, data, listener, flow.address, flow.port);
        return true;
      },
      remoteStreams: this.isHome ? undefined : this.settings.remoteStreams,
      sendOnStream: (bytes: Buffer, destination: Destination) => this.link.sendOnStream(HOME_WORKER, bytes, destination),
      handOverResponse: (response: SipResponse, flow: Flow) => {
        const owner = branchWorker(response.via.branch, this.count);
        if (owner === UNKNOWN || owner === this.index || !this.link.reaches(owner)) return false;
        this.link.forwardStreamResponse(owner, response.toBuffer(), flow);
        return true;
      },
    };
  }

  attachTransport(transport: TransportLayer): void {
    this.transport = transport;
  }

  /** Copies this worker's binding changes to the others, and theirs into `table`. */
  shareBindings<B>(table: SharedBindingTable<B>): void {
    this.table = table as SharedBindingTable<unknown>;
    table.onChange((aor, change, fromPeer) => {
      // every worker expires its own copy: an expiry is not news to the others
      if (fromPeer || change === 'expired') return;
      this.changedAors.add(aor);
      if (this.flushScheduled) return;
      this.flushScheduled = true;
      setImmediate(() => this.flushBindings());
    });
  }

  /** Tells the primary this worker serves: its link port and listeners. */
  ready(listeners: ListenerInfo[], summary: string[], onStop: () => Promise<WorkerReport['counters']>, onReload: () => Promise<void>): void {
    this.onStop = onStop;
    this.onReload = onReload;
    this.settings.channel.send({ t: 'ready', index: this.index, linkPort: this.link.port, listeners, summary });
  }

  close(): Promise<void> {
    return this.link.close();
  }

  private flushBindings(): void {
    this.flushScheduled = false;
    const table = this.table;
    if (table === undefined || this.changedAors.size === 0) return;
    const changes: Array<[string, unknown[]]> = [];
    for (const aor of this.changedAors) changes.push([aor, table.bindingsOf(aor)]);
    this.changedAors.clear();
    this.settings.channel.send({ t: 'bindings', from: this.index, changes });
  }

  /** The whole table for a worker that has just started, in chunks (an IPC message is one JSON text). */
  private sendSnapshot(to: number): void {
    const table = this.table;
    if (table === undefined) return;
    let changes: Array<[string, unknown[]]> = [];
    for (const aor of table.aors()) {
      changes.push([aor, table.bindingsOf(aor)]);
      if (changes.length === SNAPSHOT_CHUNK) {
        this.settings.channel.send({ t: 'bindings', from: this.index, changes, to });
        changes = [];
      }
    }
    if (changes.length > 0) this.settings.channel.send({ t: 'bindings', from: this.index, changes, to });
    this.settings.channel.send({ t: 'snapshot-end', from: this.index, to });
  }

  private receive(message: FromPrimary): void {
    switch (message.t) {
      case 'peers':
        this.link.setPeers(message.ports);
        break;
      case 'bindings':
        if (this.table !== undefined) for (const [aor, bindings] of message.changes) this.table.applyPeer(aor, bindings);
        break;
      case 'synced':
        this.synced = true;
        break;
      case 'snapshot':
        this.sendSnapshot(message.to);
        break;
      case 'reload':
        this.onReload?.().catch((err: Error) => this.logger.error({ err: err.message, worker: this.index }, 'cannot reload the routing script; the previous one stays'));
        break;
      case 'stop': {
        const stop = this.onStop ?? (() => Promise.resolve({}));
        stop().then(
          (counters) => {
            this.settings.channel.send({ t: 'stopped', index: this.index, counters }, () => process.exit(0));
          },
          (err: Error) => {
            this.logger.error({ err: err.message, worker: this.index }, 'error while stopping');
            process.exit(1);
          },
        );
        break;
      }
    }
  }
}
