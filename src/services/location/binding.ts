import type { StoredBinding } from '../../store/ports.ts';

/**
 * One registration binding (RFC 3261 §10): an address-of-record bound to a contact, with what is
 * needed to reach it again: the Path (RFC 3327), the flow it registered over, its instance
 * (RFC 5626). Persisted as a StoredBinding.
 */
export interface Binding extends StoredBinding {
  /** Identity within the AOR: +sip.instance/reg-id when present (RFC 5626 §6), else the contact URI. */
  readonly key: string;
}

export function bindingKey(contact: string, instance: string | null, regId: number | null): string {
  return instance !== null ? `${instance}\u0000${regId ?? ''}` : normalizeContact(contact);
}

/** Contact URIs compare with the §19.1.4 rules; lowercasing scheme and host covers the common differences. */
function normalizeContact(contact: string): string {
  const at = contact.lastIndexOf('@');
  const normal = at < 0 ? contact.toLowerCase() : contact.slice(0, at) + contact.slice(at).toLowerCase();
  // the usual contact is written in lower case already: keep one string, not two, per binding
  return normal === contact ? contact : normal;
}
