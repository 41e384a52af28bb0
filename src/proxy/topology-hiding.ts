import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { NameAddress, parseNameAddress, parseUri, SipUri, type SipMessage, type SipRequest, type SipResponse } from '../sip/index.ts';
import { addressFamily, type Destination } from '../transport/index.ts';
import type { LocalIdentity } from './local-identity.ts';

/** URI parameter of our Record-Route that carries the hidden route entries behind us. */
const ROUTE_PARAM = 'th';
/** URI parameter of a masked Contact that carries the real contact URI. */
const CONTACT_PARAM = 'thc';

/** What restoring an inbound request found. */
export interface RestoredTopology {
  /** Route values to put back in front of the request once our own Route entries are removed. */
  routes: string[];
}

export class TopologyTokenError extends Error {}

/**
 * Topology hiding (the idea of Kamailio's topoh module, kept stateless): a message that leaves
 * through a hiding proxy carries no Via, Record-Route or Contact of the network behind it.
 *
 * - Requests leave with our Via only (the proxy is stateful, so the Vias are put back on the
 *   responses from the server transaction's request, RFC 3261 §16.7 step 3 still holds).
 * - Record-Route keeps one entry of ours, the one facing the receiver; the entries on the far
 *   side of us are sealed into its `th` parameter, in Route order.
 * - Contact URIs become a URI of ours whose `thc` parameter seals the real contact, so the remote
 *   target of the dialog (§12.1) is this proxy and in-dialog requests come back through it.
 *
 * An in-dialog request whose Request-URI or Route carries our sealed parameters gets them opened
 * before Route processing (§16.4), so it routes exactly as if nothing had been hidden. Tokens are
 * AES-256-GCM sealed: the peer can neither read nor forge them.
 */
export class TopologyHiding {
  private readonly key: Buffer;

  constructor(
    private readonly identity: LocalIdentity,
    secret: string | Buffer = randomBytes(32),
  ) {
    this.key = createHash('sha256').update(secret).digest();
  }

  /**
   * Opens the sealed parts of an inbound request (before §16.4 Route processing): a masked
   * Request-URI becomes the real contact, and the hidden route entries are returned to be put
   * back after our own Route entries are removed. Null when the request carries nothing of ours.
   * Throws TopologyTokenError for a token that does not open (forged or from another key).
   */
  restoreRequest(request: SipRequest): RestoredTopology | null {
    let found = false;
    const uri = request.uri;
    if (uri instanceof SipUri && this.identity.isLocalUri(uri)) {
      const token = uri.params.get(CONTACT_PARAM);
      if (typeof token === 'string') {
        request.setUri(parseUri(this.open(token)));
        found = true;
      }
    }
    let routes: string[] = [];
    // our entries are at the top: one, or two after a double Record-Route (RFC 5658)
    const top = request.routes;
    for (let i = 0; i < top.length && i < 2; i++) {
      const route = top[i].uri;
      if (!(route instanceof SipUri) || !this.identity.isLocalUri(route)) break;
      if (route.params.has(ROUTE_PARAM)) {
        routes = this.sealedRoutes(request.getAll('route')[i]);
        found = true;
      }
    }
    return found ? { routes } : null;
  }

  /** Puts restored route entries in front of what remains after our own entries were removed. */
  applyRoutes(request: SipRequest, restored: RestoredTopology): void {
    if (restored.routes.length > 0) request.add('Route', restored.routes.join(', '), true);
  }

  /**
   * The copy of a request about to leave towards `destination`: without Vias (the transport
   * pushes ours), with one Record-Route of ours sealing the entries behind it, and with masked
   * Contacts. A dialog-forming request always gets our Record-Route, so that the dialog keeps
   * passing through the proxy that can open its tokens.
   */
  hideRequest(request: SipRequest, destination: Destination): void {
    request.remove('via');
    if (request.to.tag === undefined && request.method !== 'REGISTER') {
      const entries = request.getAll('record-route');
      const ours = this.identity.recordRoute(destination.protocol, addressFamily(destination.address));
      const behind: string[] = [];
      // everything that is not ours lies behind us, already in the order a Route set needs
      for (const entry of entries) if (!this.isOurs(entry)) behind.push(entry);
      request.set('Record-Route', this.sealRoute(ours, behind));
    }
    this.maskContacts(request, destination);
  }

  /**
   * A response about to go upstream along `flow` (the request's inbound flow): the request's
   * Vias back (`vias`), the Record-Route entries beyond us sealed into our entry facing the
   * receiver, and masked Contacts.
   */
  hideResponse(response: SipResponse, vias: string[], towards: Destination): void {
    response.remove('via');
    if (vias.length > 0) response.add('Via', vias.join(', '), true);
    const entries = response.getAll('record-route');
    if (entries.length > 0) {
      let first = -1;
      let last = -1;
      for (let i = 0; i < entries.length; i++) {
        if (!this.isOurs(entries[i])) continue;
        if (first < 0) first = i;
        last = i;
      }
      if (first >= 0) {
        // entries above ours were added beyond us; the caller's Route set reaches them in reverse
        const beyond = entries.slice(0, first).reverse();
        const ours = this.identity.recordRoute(towards.protocol, addressFamily(towards.address));
        // the entries on the caller's side that the request sealed into our entry go back, in Record-Route order
        let behind: string[] = [];
        try {
          behind = this.sealedRoutes(entries[first]);
        } catch {
          // the far side broke our token: its entries are lost, the rest of the response still goes on
        }
        const kept = [this.sealRoute(ours, beyond), ...behind, ...entries.slice(last + 1)];
        response.set('Record-Route', kept.join(', '));
      }
    }
    this.maskContacts(response, towards);
  }

  private maskContacts(message: SipMessage, towards: Destination): void {
    const values = message.getAll('contact');
    if (values.length === 0) return;
    const masked: string[] = [];
    for (const value of values) {
      if (value.trim() === '*') return; // REGISTER removal: nothing to hide
      const contact = parseNameAddress(value, 'Contact');
      const base = this.identity.recordRouteUri(towards.protocol, addressFamily(towards.address));
      base.params.delete('lr');
      base.params.set(CONTACT_PARAM, this.seal(contact.uri.toString()));
      masked.push(new NameAddress(base, null, contact.params).toString());
    }
    message.set('Contact', masked.join(', '));
  }

  private sealRoute(ours: string, behind: string[]): string {
    // ours is "<sip:...;lr>": the token goes inside the angle brackets, as a URI parameter
    return `${ours.slice(0, -1)};${ROUTE_PARAM}=${this.seal(behind.join('\n'))}>`;
  }

  /** The route entries sealed in one of our Record-Route entries (none when it holds no token). */
  private sealedRoutes(entry: string): string[] {
    const uri = parseNameAddress(entry, 'Record-Route').uri;
    const token = uri instanceof SipUri ? uri.params.get(ROUTE_PARAM) : undefined;
    if (typeof token !== 'string') return [];
    const text = this.open(token);
    return text.length === 0 ? [] : text.split('\n');
  }

  private isOurs(entry: string): boolean {
    try {
      return this.identity.isLocalUri(parseNameAddress(entry, 'Record-Route').uri);
    } catch {
      return false;
    }
  }

  /** base64url(iv ‖ tag ‖ ciphertext): only characters a URI parameter value may hold unescaped. */
  private seal(text: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
  }

  private open(token: string): string {
    const raw = Buffer.from(token, 'base64url');
    if (raw.length < 28) throw new TopologyTokenError('topology token too short');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    } catch {
      throw new TopologyTokenError('topology token does not open');
    }
  }
}
