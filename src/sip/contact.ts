import { splitList } from './header-scanner.ts';
import { parseNameAddress, type NameAddress } from './name-address.ts';
import { parseDeltaSeconds } from './scalar-headers.ts';

/** The Contact header field(s) of a message: either "*" (RFC 3261 §10.2.2) or a list of addresses. */
export interface ContactList {
  star: boolean;
  contacts: NameAddress[];
}

export function parseContacts(values: string[]): ContactList {
  const contacts: NameAddress[] = [];
  let star = false;
  for (const value of values) {
    for (const item of splitList(value)) {
      if (item === '*') star = true;
      else contacts.push(parseNameAddress(item, 'Contact'));
    }
  }
  return { star, contacts };
}

/** The expires parameter of a contact, if present and valid. */
export function contactExpires(contact: NameAddress): number | undefined {
  const v = contact.params.get('expires');
  if (v === undefined || v === null) return undefined;
  return parseDeltaSeconds(v, 'Contact expires');
}

/** The q parameter (RFC 3261 §20.10), 1.0 when absent; a bad value counts as absent. */
export function contactQ(contact: NameAddress): number {
  const v = contact.params.get('q');
  if (v === undefined || v === null) return 1;
  const q = Number(v);
  return Number.isFinite(q) && q >= 0 && q <= 1 ? q : 1;
}
