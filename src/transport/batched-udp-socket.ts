import type { Flow } from './flow.ts';
import { parseIPv4 } from './ipv4.ts';
import type { NativeUdpBinding, NativeUdpSocket } from './native-udp.ts';
import type { UdpFlowTable } from './udp-flow-table.ts';

/** Bytes of datagrams queued for one sendmmsg before the queue is sent early. */
const SEND_AREA_BYTES = 1 << 20;
/** Datagrams queued for one sendmmsg before the queue is sent early. */
const SEND_SLOTS = 1024;
/** Room a message written in place is given: the queue is sent early when less is left (the largest UDP payload). */
const LARGEST_DATAGRAM = 65_535;

/** A message that writes its own wire form (SipMessage.writeInto): the end, or -1 when it cannot. */
export interface WritableMessage {
  writeInto(out: Buffer, at: number): number;
}

/**
 * The JavaScript side of native/udp.c: one readiness event of the socket reads up to BATCH
 * datagrams into a shared receive area and calls `receive` once for all of them; datagrams sent
 * while the event loop handles them are copied into a shared send area and leave with one
 * sendmmsg after the poll phase (setImmediate), like UdpListener's queue on node:dgram.
 */
export class BatchedUdpSocket {
  private readonly socket: NativeUdpSocket;
  private readonly recvArea: Buffer;
  private readonly recvMeta: Int32Array;
  private readonly sendArea = Buffer.allocUnsafeSlow(SEND_AREA_BYTES);
  private readonly sendMeta: Int32Array;
  private readonly slotBytes: number;
  private readonly metaInts: number;
  private sendCount = 0;
  private sendBytes = 0;
  private flushScheduled = false;
  private closed = false;
  private readonly address6 = new Map<string, Int32Array>();

  constructor(
    private readonly binding: NativeUdpBinding,
    family: 4 | 6,
    host: string,
    port: number,
    receiveBufferSize: number,
    private readonly flows: UdpFlowTable,
    private readonly onDatagram: (data: Buffer, flow: Flow) => void,
    private readonly onError: (err: Error) => void,
  ) {
    this.slotBytes = binding.SLOT_BYTES;
    this.metaInts = binding.META_INTS;
    this.socket = new binding.UdpSocket(family, host, port, receiveBufferSize, true);
    this.recvArea = Buffer.allocUnsafeSlow(binding.BATCH * binding.SLOT_BYTES);
    this.recvMeta = new Int32Array(binding.BATCH * binding.META_INTS);
    this.sendMeta = new Int32Array(SEND_SLOTS * binding.META_INTS);
    this.socket.start(this.recvArea, this.recvMeta, this.sendArea, this.sendMeta, this.receive, onError);
  }

  get port(): number {
    return this.socket.port();
  }

  /** Meta per datagram: [length, port, family, addr0..addr3, unused] (native/udp.c). */
  private readonly receive = (count: number): void => {
    const meta = this.recvMeta;
    const area = this.recvArea;
    for (let i = 0; i < count; i++) {
      const m = i * this.metaInts;
      const length = meta[m];
      const start = i * this.slotBytes;
      // a copy of its own: a message may outlive the batch (a transaction keeps its request)
      const data = Buffer.allocUnsafe(length);
      area.copy(data, 0, start, start + length);
      const flow = meta[m + 2] === 4
        ? this.flows.flowFromIPv4(meta[m + 3], meta[m + 1])
        : this.flows.flowTo(this.binding.formatAddress6(meta[m + 3], meta[m + 4], meta[m + 5], meta[m + 6]), meta[m + 1]);
      this.onDatagram(data, flow);
    }
  };

  /** Queues a datagram for the flush after the poll phase; the bytes are copied at once. */
  send(data: Buffer, port: number, address: string): void {
    if (this.closed) return;
    if (this.sendCount === SEND_SLOTS || this.sendBytes + data.length > SEND_AREA_BYTES) this.flush();
    if (!this.address(port, address)) return;
    this.sendArea.set(data, this.sendBytes);
    this.queued(data.length, port);
  }

  /**
   * Queues a message written straight into the send area: no Buffer of its own, no copy. False
   * when it could not write itself there, or came out longer than `maxLength` (the caller sends
   * its bytes instead, or sends it another way).
   */
  sendMessage(message: WritableMessage, port: number, address: string, maxLength = Infinity): boolean {
    if (this.closed) return true;
    if (this.sendCount === SEND_SLOTS || this.sendBytes + LARGEST_DATAGRAM > SEND_AREA_BYTES) this.flush();
    const end = message.writeInto(this.sendArea, this.sendBytes);
    // what was written past the queue's end is simply not queued
    if (end < 0 || end - this.sendBytes > maxLength) return false;
    if (this.address(port, address)) this.queued(end - this.sendBytes, port);
    return true;
  }

  /** Fills in the address of the next slot; false (reported) when it is not an IP address. */
  private address(port: number, address: string): boolean {
    const m = this.sendCount * this.metaInts;
    const meta = this.sendMeta;
    const v4 = parseIPv4(address);
    if (v4 >= 0) {
      meta[m + 3] = 4;
      meta[m + 4] = v4 | 0;
    } else {
      const v6 = this.parse6(address);
      if (v6 === undefined) {
        this.onError(new Error(`send EINVAL ${address}:${port} (not an IP address)`));
        return false;
      }
      meta[m + 3] = 6;
      meta[m + 4] = v6[0];
      meta[m + 5] = v6[1];
      meta[m + 6] = v6[2];
      meta[m + 7] = v6[3];
    }
    return true;
  }

  /** The next slot's bytes are in place at sendBytes: it joins the queue. */
  private queued(length: number, port: number): void {
    const m = this.sendCount * this.metaInts;
    const meta = this.sendMeta;
    meta[m] = this.sendBytes;
    meta[m + 1] = length;
    meta[m + 2] = port;
    this.sendBytes += length;
    this.sendCount++;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushLater);
    }
  }

  private readonly flushLater = (): void => {
    this.flushScheduled = false;
    this.flush();
  };

  private flush(): void {
    if (this.sendCount === 0 || this.closed) return;
    this.socket.send(this.sendCount);
    this.sendCount = 0;
    this.sendBytes = 0;
  }

  private parse6(address: string): Int32Array | undefined {
    let words = this.address6.get(address);
    if (words === undefined) {
      words = new Int32Array(4);
      if (!this.binding.parseAddress6(address, words)) return undefined;
      if (this.address6.size >= 4096) this.address6.clear();
      this.address6.set(address, words);
    }
    return words;
  }

  /** Sends what is still queued, then closes the socket. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.socket.close();
  }
}
