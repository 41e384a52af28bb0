import { headerKey, HeaderField, NameAddress, SipRequest, type SipResponse, type Uri } from '../sip/index.ts';

/**
 * The state of one dialog (RFC 3261 §12): identifiers, sequence numbers, remote target and route
 * set, and the construction of in-dialog requests (§12.2.1.1) with loose and strict routing.
 */
export class Dialog {
  constructor(
    readonly callId: string,
    readonly localTag: string,
    readonly remoteTag: string,
    /** From value of our requests (with our tag) and To value (with theirs). */
    readonly localParty: string,
    readonly remoteParty: string,
    public localSeq: number,
    public remoteTarget: Uri,
    readonly routeSet: NameAddress[],
  ) {}

  /** UAC side, from the request we sent and the 2xx/1xx that established it (§12.1.2). */
  static fromUac(request: SipRequest, response: SipResponse): Dialog {
    const contact = response.contacts.contacts[0];
    if (contact === undefined) throw new Error('a dialog-creating response without Contact');
    const routes = response.recordRoutes.slice().reverse();
    return new Dialog(
      request.callId,
      request.from.tag ?? '',
      response.to.tag ?? '',
      request.get('from') ?? '',
      response.get('to') ?? '',
      request.cseq.seq,
      contact.uri,
      routes,
    );
  }

  /** UAS side, from the request and the 2xx we answered with (§12.1.1). */
  static fromUas(request: SipRequest, response: SipResponse, localSeq = 1): Dialog {
    const contact = request.contacts.contacts[0];
    if (contact === undefined) throw new Error('a dialog-creating request without Contact');
    return new Dialog(
      request.callId,
      response.to.tag ?? '',
      request.from.tag ?? '',
      response.get('to') ?? '',
      request.get('from') ?? '',
      localSeq,
      contact.uri,
      request.recordRoutes.slice(),
    );
  }

  /** The URI the next request goes to: the first route, or the remote target (§12.2.1.1, §8.1.2). */
  get nextHop(): Uri {
    return this.routeSet.length > 0 ? this.routeSet[0].uri : this.remoteTarget;
  }

  /**
   * A request within the dialog (§12.2.1.1). With a loose router first in the route set the
   * Request-URI is the remote target and the route set becomes Route; with a strict router its URI
   * becomes the Request-URI and the remote target goes last in Route.
   */
  createRequest(method: string, extra: Array<[string, string]> = [], cseq?: number): SipRequest {
    const seq = cseq ?? (method === 'ACK' || method === 'CANCEL' ? this.localSeq : ++this.localSeq);
    let requestUri: Uri = this.remoteTarget;
    let routes = this.routeSet.map((r) => r.toString());
    const first = this.routeSet[0];
    if (first !== undefined && first.uri.kind === 'sip' && !first.uri.looseRouting) {
      requestUri = first.uri;
      routes = this.routeSet.slice(1).map((r) => r.toString());
      routes.push(new NameAddress(this.remoteTarget).toString());
    }
    const fields: HeaderField[] = [
      new HeaderField('From', 'from', this.localParty),
      new HeaderField('To', 'to', this.remoteParty),
      new HeaderField('Call-ID', 'call-id', this.callId),
      new HeaderField('CSeq', 'cseq', `${seq} ${method}`),
      new HeaderField('Max-Forwards', 'max-forwards', '70'),
    ];
    for (const r of routes) fields.push(new HeaderField('Route', 'route', r));
    for (const [name, value] of extra) fields.push(new HeaderField(name, headerKey(name), value));
    if (!extra.some(([n]) => n.toLowerCase() === 'content-length')) fields.push(new HeaderField('Content-Length', 'content-length', '0'));
    return new SipRequest(method, requestUri, fields);
  }
}
