import { contactExpires, contactQ, SipParseError, type NameAddress, type SipRequest } from '../../sip/index.ts';
import type { StoredBinding } from '../../store/ports.ts';

/**
 * What the registrar needs of the location service. Features never import each other
 * (DESIGN.md §1), so the registrar names this port and app.ts hands it the LocationService.
 */
export interface BindingTable {
  lookup(aor: string): Binding[];
  get(aor: string, key: string): Binding | undefined;
  save(binding: StoredBinding): Binding;
  remove(aor: string, key: string): boolean;
  keyOf(contact: string, instance: string | null, regId: number | null): string;
}

export interface Binding extends StoredBinding {
  readonly key: string;
}

/** Registration limits, per domain. */
export interface RegistrarPolicy {
  defaultExpires: number;
  minExpires: number;
  maxExpires: number;
  maxContacts: number;
}

export const DEFAULT_REGISTRAR_POLICY: RegistrarPolicy = {
  defaultExpires: 3600,
  minExpires: 60,
  maxExpires: 86400,
  maxContacts: 10,
};

/** What the registrar decided: the status and the headers of the response to send. */
export interface RegisterOutcome {
  status: number;
  reason?: string;
  headers: Array<[string, string]>;
  /** Bindings of the AOR after the request (for 200). */
  bindings: Binding[];
}

/**
 * The registrar's processing of REGISTER (RFC 3261 §10.3 steps 5-8), after the caller has checked
 * the domain, Require and authentication (steps 1-4): add, refresh and remove bindings, "*" with
 * Expires: 0, queries, expiration limits with 423 and Min-Expires, Call-ID/CSeq ordering, a
 * contact limit; Path (RFC 3327) and +sip.instance/reg-id (RFC 5626) are kept with the binding.
 */
export class Registrar {
  constructor(
    private readonly location: BindingTable,
    private readonly now: () => number = Date.now,
  ) {}

  register(request: SipRequest, aor: string, policy: RegistrarPolicy, source: string | null): RegisterOutcome {
    let contacts: NameAddress[];
    let star: boolean;
    let headerExpires: number | undefined;
    try {
      ({ contacts, star } = request.contacts);
      headerExpires = request.expires;
    } catch (err) {
      if (err instanceof SipParseError) return this.fail(400, aor, err.detail);
      throw err;
    }
    const callId = request.callId;
    const cseq = request.cseq.seq;
    const now = this.now();

    if (star) {
      // §10.3 step 6: "*" only alone and with Expires: 0
      if (contacts.length > 0 || headerExpires !== 0) return this.fail(400, aor, '"Contact: *" needs Expires: 0 and no other contact');
      // §10.3 step 6: a binding from this Call-ID with a CSeq not below the request's aborts the update
      // ("the update MUST be aborted and the request fails"); it is not skipped with a 200.
      const bindings = this.location.lookup(aor);
      if (bindings.some((b) => b.callId === callId && b.cseq >= cseq)) return this.fail(400, aor, 'CSeq out of order for this Call-ID');
      for (const b of bindings) this.location.remove(aor, b.key);
      return this.ok(aor, request);
    }

    // Validate every contact before changing anything: the request succeeds or fails as a whole.
    const changes: Array<{ contact: NameAddress; uri: string; expires: number; key: string; instance: string | null; regId: number | null }> = [];
    for (const contact of contacts) {
      if (contact.uri.kind === 'absolute') return this.fail(400, aor, 'a contact with an unsupported URI scheme');
      let expires: number;
      try {
        expires = contactExpires(contact) ?? headerExpires ?? policy.defaultExpires;
      } catch {
        return this.fail(400, aor, 'bad expires parameter');
      }
      if (expires !== 0 && expires < policy.minExpires) {
        return { status: 423, headers: [['Min-Expires', String(policy.minExpires)]], bindings: [] };
      }
      expires = Math.min(expires, policy.maxExpires);
      const instance = unquote(contact.params.get('+sip.instance'));
      const regIdText = contact.params.get('reg-id');
      // reg-id = 1*DIGIT (RFC 5626 §4.2); a malformed one counts as absent, in the key and in the
      // stored binding alike, or the binding could never be found again to refresh or remove it
      const regIdNumber = instance !== null && regIdText ? Number(regIdText) : NaN;
      const regId = Number.isInteger(regIdNumber) ? regIdNumber : null;
      const uri = contact.uri.toString();
      const key = this.location.keyOf(uri, instance, regId);
      const existing = this.location.get(aor, key);
      // §10.3 step 7: the same Call-ID with a CSeq not above the stored one is out of order
      if (existing !== undefined && existing.callId === callId && existing.cseq >= cseq) {
        return this.fail(400, aor, 'CSeq out of order for this Call-ID');
      }
      changes.push({ contact, uri, expires, key, instance, regId });
    }
    const current = new Set(this.location.lookup(aor).map((b) => b.key));
    for (const c of changes) {
      if (c.expires === 0) current.delete(c.key);
      else current.add(c.key);
    }
    if (current.size > policy.maxContacts) {
      return { status: 403, reason: 'Too Many Contacts', headers: [], bindings: this.location.lookup(aor) };
    }

    const path = request.getAll('path');
    const userAgent = request.get('user-agent') ?? null;
    for (const c of changes) {
      if (c.expires === 0) {
        this.location.remove(aor, c.key);
        continue;
      }
      this.location.save({
        aor,
        contact: c.uri,
        expiresAt: now + c.expires * 1000,
        q: contactQ(c.contact),
        callId,
        cseq,
        path,
        instance: c.instance,
        regId: c.regId,
        received: source,
        userAgent,
        updatedAt: now,
      });
    }
    return this.ok(aor, request);
  }

  /** 200 with every current binding and its remaining time (§10.3 step 8). */
  private ok(aor: string, request: SipRequest): RegisterOutcome {
    const now = this.now();
    const bindings = this.location.lookup(aor);
    const headers: Array<[string, string]> = bindings.map((b) => {
      let value = `<${b.contact}>;expires=${Math.max(0, Math.round((b.expiresAt - now) / 1000))}`;
      if (b.q !== 1) value += `;q=${b.q}`;
      if (b.instance !== null) value += `;+sip.instance="${b.instance}"`;
      if (b.regId !== null) value += `;reg-id=${b.regId}`;
      return ['Contact', value] as [string, string];
    });
    headers.push(['Date', httpDate(now)]);
    // RFC 3327 §5.3: a registrar supporting Path echoes the stored Path when the UA supports it
    const path = request.getAll('path');
    if (path.length > 0 && request.supported.includes('path')) for (const p of path) headers.push(['Path', p]);
    return { status: 200, headers, bindings };
  }

  private fail(status: number, aor: string, why: string): RegisterOutcome {
    return { status, headers: [['Warning', `399 sipline "${why.replace(/"/g, "'")}"`]], bindings: this.location.lookup(aor) };
  }
}

/** The Date value (RFC 3261 §20.17) of the current second, formatted once per second rather than per REGISTER. */
let dateSecond = -1;
let dateText = '';
function httpDate(now: number): string {
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(second * 1000).toUTCString();
  }
  return dateText;
}

function unquote(v: string | null | undefined): string | null {
  if (v === undefined || v === null) return null;
  return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
}
