import { loadContext, withStore, type StoreOptions } from './context.ts';
import { table, type Output } from './output.ts';

/** The current bindings as the store holds them (the server writes them behind within ~200 ms). */
export async function location(aor: string | undefined, options: StoreOptions, out: Output): Promise<void> {
  const ctx = loadContext(options);
  await withStore(ctx, async (store) => {
    const now = Date.now();
    const wanted = aor?.replace(/^sips?:/i, '').toLowerCase();
    const bindings = (await store.loadBindings())
      .filter((b) => b.expiresAt > now && (wanted === undefined || b.aor.toLowerCase() === wanted))
      .sort((a, b) => a.aor.localeCompare(b.aor) || b.q - a.q || a.contact.localeCompare(b.contact));
    if (bindings.length === 0) {
      out.note(wanted === undefined ? 'no bindings' : `no bindings for ${wanted}`);
      return;
    }
    const rows = bindings.map((b) => [b.aor, b.contact, `${Math.ceil((b.expiresAt - now) / 1000)}s`, String(b.q), b.received ?? '-', b.userAgent ?? '-']);
    for (const l of table(['AOR', 'CONTACT', 'EXPIRES IN', 'Q', 'RECEIVED', 'USER AGENT'], rows)) out.line(l);
  });
}
