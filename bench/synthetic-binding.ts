import type { StoredBinding } from '../src/store/index.ts';

/**
 * The i-th synthetic registration of the scale measurements (`npm run bench:scale`): user
 * scale0000000... on a distinct 10.x.y.z address, valid for two hours from `now`. The bench
 * server's preload and the in-process footprint and start-up measures all use this one shape.
 */
export function syntheticBinding(i: number, domain: string, now: number): StoredBinding {
  const user = `scale${String(i).padStart(7, '0')}`;
  const host = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  return {
    aor: `${user}@${domain}`,
    contact: `sip:${user}@${host}:5060`,
    expiresAt: now + 7_200_000,
    q: 1,
    callId: `${i}-preload@${host}`,
    cseq: 1,
    path: [],
    instance: null,
    regId: null,
    received: `udp:${host}:5060`,
    userAgent: 'bench-preload',
    updatedAt: now,
  };
}
