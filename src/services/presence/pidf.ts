/**
 * PIDF (RFC 3863) documents: checking a published one, and composing the document a watcher gets
 * from every publication of a presentity (RFC 3903 §1: the compositor merges the event state of
 * several publishers, one per device). Deliberately not a general XML parser: a published
 * document must have one `presence` root element; its namespace declarations and its child
 * elements (tuples, notes, RPID person and device elements) are carried over as text.
 */

export const PIDF_CONTENT_TYPE = 'application/pidf+xml';
const PIDF_NAMESPACE = 'urn:ietf:params:xml:ns:pidf';

/** What a publication contributes to the composed document. */
export interface PidfPart {
  /** Namespace declarations of its root element other than the default one: prefix → URI. */
  namespaces: Map<string, string>;
  /** The child elements of its root element, as published. */
  content: string;
}

/** Escapes text for XML character data and attribute values (XML 1.0 §2.4, §3.3.3). */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&apos;'));
}

const ROOT_OPEN = /<([A-Za-z_][\w.-]*:)?presence\b((?:\s+[^\s=>/]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*>/;
const ATTRIBUTE = /([^\s=>/]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;

/**
 * Reads a published PIDF document; null when it is not one (no `presence` root in the PIDF
 * namespace, the root not closed, or markup that could break out of the composed document).
 */
export function readPidf(xml: string): PidfPart | null {
  const open = ROOT_OPEN.exec(xml);
  if (open === null) return null;
  const prefix = open[1] ?? '';
  // only a prolog, comments and white space may come before the root element
  if (!/^\s*(?:<\?xml[^>]*\?>)?(?:\s*<!--[\s\S]*?-->)*\s*$/.test(xml.slice(0, open.index))) return null;
  const close = `</${prefix}presence>`;
  const end = xml.lastIndexOf(close);
  if (end < open.index || xml.slice(end + close.length).trim() !== '') return null;
  const namespaces = new Map<string, string>();
  let pidfDeclared = false;
  for (const m of open[2].matchAll(ATTRIBUTE)) {
    const name = m[1];
    const value = m[2] ?? m[3] ?? '';
    if (name === 'xmlns' || name === `xmlns:${prefix.slice(0, -1)}`) {
      if (value === PIDF_NAMESPACE) pidfDeclared = true;
      // the PIDF elements keep their own prefix: declare it for the content
      if (name !== 'xmlns') namespaces.set(name.slice(6), value);
    } else if (name.startsWith('xmlns:')) {
      namespaces.set(name.slice(6), value);
    }
  }
  if (!pidfDeclared) return null;
  const content = xml.slice(open.index + open[0].length, end).trim();
  // a CDATA section or a stray root-level end tag inside could end our document early
  if (content.includes('<![CDATA[') || content.includes(close) || /<!DOCTYPE|<!ENTITY/i.test(content)) return null;
  return { namespaces, content };
}

/** One tuple per registered contact: what presence from registration shows (Kamailio pua_usrloc). */
export function registrationTuples(contacts: Array<{ contact: string; q: number }>): string {
  return contacts
    .map(
      (c, i) =>
        `<tuple id="reg${i + 1}"><status><basic>open</basic></status><contact priority="${Math.min(1, Math.max(0, c.q)).toFixed(3).replace(/\.?0+$/, '') || '0'}">${escapeXml(c.contact)}</contact></tuple>`,
    )
    .join('\n  ');
}

/** The tuple of a presentity that shows nothing: offline (basic closed). */
export const CLOSED_TUPLE = '<tuple id="offline"><status><basic>closed</basic></status></tuple>';

/**
 * The document for a presentity (RFC 3863 §4): `entity` is its SIP URI; the parts' namespace
 * declarations (the first declaration of a prefix wins) and contents are merged under one root.
 * No part at all gives the closed document.
 */
export function composePresence(entity: string, parts: PidfPart[]): string {
  const declared = new Map<string, string>();
  for (const p of parts) for (const [prefix, uri] of p.namespaces) if (!declared.has(prefix)) declared.set(prefix, uri);
  let attrs = `xmlns="${PIDF_NAMESPACE}"`;
  for (const [prefix, uri] of declared) attrs += ` xmlns:${prefix}="${escapeXml(uri)}"`;
  const body = parts.length === 0 ? CLOSED_TUPLE : parts.map((p) => p.content).join('\n  ');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<presence ${attrs} entity="${escapeXml(entity)}">\n  ${body}\n</presence>\n`;
}

/** A part made of tuples we wrote ourselves (registration, closed). */
export function ownPart(content: string): PidfPart {
  return { namespaces: new Map(), content };
}
