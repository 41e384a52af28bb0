import type { Uri } from '../sip/index.ts';
import type { Destination } from '../transport/index.ts';

/** One place to send a request (RFC 3261 §16.5 target set element). */
export interface Target {
  /** The Request-URI of the forwarded request. */
  uri: Uri;
  /** Higher first; targets of equal q are tried in parallel, lower q after them (§16.6). */
  q?: number;
  /** Route values to add first, e.g. the Path a binding registered with (RFC 3327 §5.4). */
  path?: string[];
  /** A next hop that overrides Route/Request-URI resolution (e.g. the flow a client registered over). */
  destination?: Destination;
}
