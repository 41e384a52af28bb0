/**
 * Watcher information documents (RFC 3858) for the presence.winfo template package (RFC 3857):
 * the watchers of one presentity's presence, with their subscription status and the event that
 * last changed it.
 */
import { escapeXml } from './pidf.ts';

export const WATCHERINFO_CONTENT_TYPE = 'application/watcherinfo+xml';

/** RFC 3858 §4: the subscription status of a watcher. */
export type WatcherStatus = 'pending' | 'active' | 'waiting' | 'terminated';

/** RFC 3858 §4: what moved a watcher to its status. */
export type WatcherEvent = 'subscribe' | 'approved' | 'deactivated' | 'probation' | 'rejected' | 'timeout' | 'giveup' | 'noresource';

export interface WatcherEntry {
  /** Unique within the watcher list and stable for one subscription (RFC 3858 §4). */
  id: string;
  /** The watcher's URI. */
  uri: string;
  status: WatcherStatus;
  event: WatcherEvent;
}

/**
 * A full watcherinfo document (state="full", RFC 3858 §4): `version` counts the documents sent
 * within one winfo subscription, from 0, so that the subscriber can tell one missing.
 */
export function composeWatcherInfo(resource: string, version: number, watchers: WatcherEntry[]): string {
  const lines = watchers.map(
    (w) => `    <watcher id="${escapeXml(w.id)}" event="${w.event}" status="${w.status}">${escapeXml(w.uri)}</watcher>`,
  );
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<watcherinfo xmlns="urn:ietf:params:xml:ns:watcherinfo" version="${version}" state="full">\n` +
    `  <watcher-list resource="${escapeXml(resource)}" package="presence">\n` +
    (lines.length > 0 ? lines.join('\n') + '\n' : '') +
    `  </watcher-list>\n</watcherinfo>\n`
  );
}
