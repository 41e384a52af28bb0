import { computeHa1 } from '../services/auth/index.ts';
import type { Domain, Subscriber } from '../store/index.ts';

/** The user part of a SIP URI (RFC 3261 §25.1 user: unreserved, escaped and user-unreserved characters). */
const USER = /^(?:[A-Za-z0-9\-_.!~*'()&=+$,;?/]|%[0-9A-Fa-f]{2})+$/;

/** Returns a problem with a user name, or null. */
export function userProblem(user: string): string | null {
  if (user === '') return 'the user name is empty';
  if (!USER.test(user)) return `user name ${JSON.stringify(user)} has characters a SIP URI user part cannot hold`;
  return null;
}

/** Splits "user@domain" (an optional sip: prefix is allowed); null when there is no @. */
export function splitAddress(text: string): { user: string; domain: string } | null {
  const bare = text.replace(/^sips?:/i, '');
  const at = bare.lastIndexOf('@');
  if (at < 0) return null;
  return { user: bare.slice(0, at), domain: bare.slice(at + 1).toLowerCase() };
}

/** A subscriber with HA1 for both algorithms over the domain's realm (RFC 7616 §3.4.2); the password is not kept. */
export function subscriberFor(user: string, domain: Domain, password: string): Subscriber {
  return {
    username: user,
    domain: domain.name,
    ha1Md5: computeHa1('MD5', user, domain.realm, password),
    ha1Sha256: computeHa1('SHA-256', user, domain.realm, password),
  };
}
