import type { Connection } from './connection.ts';
import { destinationKey, type Destination } from './flow.ts';

/**
 * Open stream connections by remote address, so that responses and later requests to the same
 * peer reuse a connection instead of opening another (RFC 3261 §18.1.1, §18.2.2).
 */
export class ConnectionTable {
  private readonly byKey = new Map<string, Connection>();

  get size(): number {
    return this.byKey.size;
  }

  get(destination: Destination): Connection | undefined {
    const c = this.byKey.get(destinationKey(destination));
    return c !== undefined && c.isOpen ? c : undefined;
  }

  add(destination: Destination, connection: Connection): void {
    this.byKey.set(destinationKey(destination), connection);
  }

  remove(connection: Connection): void {
    const key = destinationKey(connection.flow);
    if (this.byKey.get(key) === connection) this.byKey.delete(key);
    // an outbound connection may be filed under the target it was opened for
    for (const target of connection.aliases) {
      const k = destinationKey(target);
      if (this.byKey.get(k) === connection) this.byKey.delete(k);
    }
  }

  all(): IterableIterator<Connection> {
    return new Set(this.byKey.values()).values();
  }
}
