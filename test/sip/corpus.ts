// Shared loader for the RFC 4475 / RFC 5118 conformance corpus (see ../shared/conformance/README.md).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

export const CORPUS_ROOT = new URL('../../../shared/conformance/', import.meta.url);

export interface WireForm {
  bytes: number;
  sha256: string;
  content_length: number;
  body_length: number;
  header_section_bytes: number;
}

export interface CorpusEntry {
  file: string;
  rfc: 4475 | 5118;
  section: string;
  message_name: string;
  verdict: 'valid' | 'invalid' | 'valid-but-unusual';
  bytes: number;
  sha256: string;
  framing: { header_section_terminated: boolean; octets_after_header_section: number };
  expected: {
    parser: 'accept' | 'reject' | 'either';
    preferred?: 'accept' | 'reject';
    response: { code: number; reason: string } | null;
  };
  key_values: Record<string, unknown>;
  wire_form?: WireForm;
}

export interface Manifest {
  counts: { rfc4475: number; rfc5118: number; total: number };
  entries: CorpusEntry[];
}

export const manifest: Manifest = JSON.parse(readFileSync(new URL('manifest.json', CORPUS_ROOT), 'utf8'));

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The archived file, byte for byte. */
export function readArchived(entry: CorpusEntry): Buffer {
  return readFileSync(new URL(entry.file, CORPUS_ROOT));
}

/** LF archive bytes -> what a SIP parser should receive (the README's conversion, verbatim). */
export function toWire(archived: Uint8Array): Buffer {
  let text = Buffer.from(archived).toString('latin1').replace(/\n/g, '\r\n');
  if (!text.includes('\r\n\r\n')) text += '\r\n'; // close the header section
  const sep = text.indexOf('\r\n\r\n');
  const head = text.slice(0, sep),
    body = text.slice(sep + 4);
  const fixed = head.replace(/^(content-length|l)[ \t]*:.*$/gim, (_m, n) => `${n}: ${body.length}`);
  return Buffer.from(fixed + '\r\n\r\n' + body, 'latin1');
}

/** The bytes a parser is fed: RFC 4475 files as they are, RFC 5118 files in wire form. */
export function wireBytes(entry: CorpusEntry): Buffer {
  const archived = readArchived(entry);
  return entry.rfc === 5118 ? toWire(archived) : archived;
}

/** Deterministic PRNG (mulberry32) so that chunkings are reproducible from a seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Cuts bytes into chunks; sizes come from `size()` (at least 1). */
export function chunk(bytes: Buffer, size: () => number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; ) {
    const n = Math.max(1, size());
    out.push(bytes.subarray(i, i + n));
    i += n;
  }
  return out;
}
