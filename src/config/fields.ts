/**
 * The building blocks of the config schema: each field checks a value read from YAML (or a flag or
 * an environment variable), says what it accepts, and carries the documentation that
 * docs/configuration.md is generated from. Checks collect every problem instead of stopping at the
 * first, so that one run of `sipline` shows everything to fix.
 */

export type Path = ReadonlyArray<string | number>;

/** One problem: where (a key path), and the text after it ("\"abc\" is not a whole number of seconds"). */
export interface Issue {
  path: Path;
  text: string;
}

/** Returned by a check that found a problem (the problem is in the issue list). */
export const INVALID: unique symbol = Symbol('invalid');
export type Checked<T> = T | typeof INVALID;

/** What the documentation shows about a key. */
export interface FieldDoc {
  type: string;
  description: string;
  /** What is allowed, when narrower than the type says. */
  allowed?: string;
  /** The default, as YAML would show it; absent for optional keys without one. */
  default?: string;
  /** The environment variable that overrides this key. */
  env?: string;
  /** The command-line flag that overrides this key. */
  flag?: string;
}

export interface Field<T> {
  readonly doc: FieldDoc;
  check(value: unknown, path: Path, issues: Issue[]): Checked<T>;
  /** The value when the key is absent (or null), or INVALID with an issue when the key is required. */
  absent(path: Path, issues: Issue[]): Checked<T>;
}

export type Infer<F> = F extends Field<infer T> ? T : never;

/** A value as the messages show it: JSON for scalars, a short description for structures. */
export function show(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value !== null && typeof value === 'object') return 'a mapping';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

export function formatPath(path: Path): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? p : `.${p}`;
  return out;
}

interface Meta<T> {
  description: string;
  default?: T;
  env?: string;
  flag?: string;
  /** The default as the documentation shows it, when JSON of the value would not read well. */
  docDefault?: string;
}

function metaDoc<T>(type: string, meta: Meta<T>, allowed?: string): FieldDoc {
  return {
    type,
    description: meta.description,
    allowed,
    default: meta.docDefault ?? (meta.default === undefined ? undefined : JSON.stringify(meta.default)),
    env: meta.env,
    flag: meta.flag,
  };
}

/** Absent: the default, or undefined for an optional key (the type says T | undefined then). */
function absentWith<T>(meta: Meta<T>): (path: Path, issues: Issue[]) => Checked<T> {
  return () => (meta.default === undefined ? (undefined as T) : structuredClone(meta.default));
}

export interface IntegerMeta extends Meta<number> {
  min: number;
  max: number;
  /** Plural unit for messages and docs: "seconds", "milliseconds", "contacts". */
  unit: string;
}

export function integer(meta: IntegerMeta & { default: number }): Field<number>;
export function integer(meta: IntegerMeta): Field<number | undefined>;
export function integer(meta: IntegerMeta): Field<number | undefined> {
  return {
    doc: metaDoc(`integer (${meta.unit})`, meta, `${meta.min} to ${meta.max}`),
    check(value, path, issues) {
      const n = typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isInteger(n)) {
        issues.push({ path, text: `${show(value)} is not a whole number of ${meta.unit}` });
        return INVALID;
      }
      if (n < meta.min || n > meta.max) {
        issues.push({ path, text: `${show(value)} is out of range: use ${meta.min} to ${meta.max} ${meta.unit}` });
        return INVALID;
      }
      return n;
    },
    absent: absentWith(meta),
  };
}

/** A switch: YAML true/false (environment variables and flags also give "true"/"false", "on"/"off", "1"/"0"). */
export function boolean(meta: Meta<boolean> & { default: boolean }): Field<boolean>;
/** Without a default: optional (a per-domain override that is absent means the global value). */
export function boolean(meta: Meta<boolean>): Field<boolean | undefined>;
export function boolean(meta: Meta<boolean>): Field<boolean | undefined> {
  const words: Record<string, boolean> = { true: true, false: false, on: true, off: false, yes: true, no: false, '1': true, '0': false };
  return {
    doc: metaDoc('boolean', meta, 'true or false'),
    check(value, path, issues) {
      if (typeof value === 'boolean') return value;
      const word = typeof value === 'string' || typeof value === 'number' ? words[String(value).trim().toLowerCase()] : undefined;
      if (word === undefined) {
        issues.push({ path, text: `${show(value)} is not true or false` });
        return INVALID;
      }
      return word;
    },
    absent: absentWith(meta),
  };
}

export interface StringMeta extends Meta<string> {
  /** Returns a problem ("is not a host name") or null when the text is fine. */
  validate?: (text: string) => string | null;
  /** What the documentation says is allowed. */
  allowed?: string;
  type?: string;
}

export function string(meta: StringMeta & { default: string }): Field<string>;
export function string(meta: StringMeta): Field<string | undefined>;
export function string(meta: StringMeta): Field<string | undefined> {
  return {
    doc: metaDoc(meta.type ?? 'string', meta, meta.allowed),
    check(value, path, issues) {
      // YAML reads `port: 5060` or `name: 10.0.0.1`-like scalars as numbers; names and hosts are text
      const text = typeof value === 'number' ? String(value) : value;
      if (typeof text !== 'string' || text === '') {
        issues.push({ path, text: `${show(value)} is not ${meta.allowed ?? 'a non-empty string'}` });
        return INVALID;
      }
      const problem = meta.validate?.(text) ?? null;
      if (problem !== null) {
        issues.push({ path, text: `${show(value)} ${problem}` });
        return INVALID;
      }
      return text;
    },
    absent: absentWith(meta),
  };
}

/** One of a fixed set of words, matched without regard to case and returned as spelled here. */
export function choice<const V extends string>(values: readonly V[], meta: Meta<V> & { default: V }): Field<V>;
export function choice<const V extends string>(values: readonly V[], meta: Meta<V>): Field<V | undefined>;
export function choice<const V extends string>(values: readonly V[], meta: Meta<V>): Field<V | undefined> {
  return {
    doc: metaDoc('string', meta, values.join(', ')),
    check(value, path, issues) {
      const found = typeof value === 'string' ? values.find((v) => v.toLowerCase() === value.toLowerCase()) : undefined;
      if (found === undefined) {
        issues.push({ path, text: `${show(value)} is not one of: ${values.join(', ')}` });
        return INVALID;
      }
      return found;
    },
    absent: absentWith(meta),
  };
}

export interface ListField<T> extends Field<T[]> {
  readonly item: Field<T | undefined>;
}

/** A list; each entry is checked by `item` (a null entry is an error, not a default). */
export function list<T>(item: Field<T>, meta: Meta<NonNullable<T>[]> & { minItems?: number; type?: string }): ListField<NonNullable<T>> {
  const minItems = meta.minItems ?? 0;
  return {
    item: item as Field<NonNullable<T> | undefined>,
    doc: metaDoc(meta.type ?? `list of ${item.doc.type}`, meta, item.doc.allowed),
    check(value, path, issues) {
      if (!Array.isArray(value)) {
        issues.push({ path, text: `${show(value)} is not a list (write one "- item" line per entry, or [a, b])` });
        return INVALID;
      }
      if (value.length < minItems) {
        issues.push({ path, text: `${show(value)} is empty: give at least ${minItems} ${minItems === 1 ? 'entry' : 'entries'}` });
        return INVALID;
      }
      const out: NonNullable<T>[] = [];
      let ok = true;
      value.forEach((v, i) => {
        const r = item.check(v, [...path, i], issues);
        if (r === INVALID) ok = false;
        else out.push(r as NonNullable<T>);
      });
      return ok ? out : INVALID;
    },
    absent: (path, issues) => (meta.default === undefined ? [] : (absentWith(meta)(path, issues) as NonNullable<T>[])),
  };
}

export type Shape = Record<string, Field<unknown>>;
export type ShapeValue<S extends Shape> = { [K in keyof S]: Infer<S[K]> };

export interface ObjectField<S extends Shape> extends Field<ShapeValue<S>> {
  readonly shape: S;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A mapping with known keys; an unknown key is an error that lists the known ones (a typo shows). */
export function object<S extends Shape>(shape: S, meta: { description: string; required?: string[] }): ObjectField<S> {
  const keys = Object.keys(shape);
  const required = new Set(meta.required ?? []);
  const field: ObjectField<S> = {
    shape,
    doc: { type: 'mapping', description: meta.description },
    check(value, path, issues) {
      if (!isMapping(value)) {
        issues.push({ path, text: `${show(value)} is not a mapping; its keys are: ${keys.join(', ')}` });
        return INVALID;
      }
      let ok = true;
      for (const k of Object.keys(value)) {
        if (!(k in shape)) {
          issues.push({ path: [...path, k], text: `unknown key; the known keys${path.length > 0 ? ` of ${formatPath(path)}` : ''} are: ${keys.join(', ')}` });
          ok = false;
        }
      }
      const out: Record<string, unknown> = {};
      for (const k of keys) {
        const v = value[k];
        let r: unknown;
        if (v === undefined || v === null) {
          if (required.has(k)) {
            issues.push({ path: [...path, k], text: `is missing: ${shape[k].doc.description}` });
            r = INVALID;
          } else {
            r = shape[k].absent([...path, k], issues);
          }
        } else {
          r = shape[k].check(v, [...path, k], issues);
        }
        if (r === INVALID) ok = false;
        else if (r !== undefined) out[k] = r;
      }
      return ok ? (out as ShapeValue<S>) : INVALID;
    },
    absent(path, issues) {
      return field.check({}, path, issues);
    },
  };
  return field;
}

export interface RecordField<T> extends Field<Record<string, T>> {
  readonly key: Field<string | undefined>;
  readonly value: Field<T>;
}

/** A mapping from names (checked by `key`) to values of one kind. */
export function record<T>(key: Field<string | undefined>, value: Field<T>, meta: { description: string }): RecordField<T> {
  return {
    key,
    value,
    doc: { type: `mapping of ${key.doc.type} to ${value.doc.type}`, description: meta.description },
    check(v, path, issues) {
      if (!isMapping(v)) {
        issues.push({ path, text: `${show(v)} is not a mapping` });
        return INVALID;
      }
      const out: Record<string, T> = {};
      let ok = true;
      for (const [k, item] of Object.entries(v)) {
        const name = key.check(k, [...path, k], issues);
        const r = item === null ? value.absent([...path, k], issues) : value.check(item, [...path, k], issues);
        if (name === INVALID || name === undefined || r === INVALID) ok = false;
        else out[name] = r;
      }
      return ok ? out : INVALID;
    },
    absent: () => ({}),
  };
}

export interface EitherField<A, B> extends Field<NonNullable<A> | NonNullable<B>> {
  readonly options: readonly [Field<A>, Field<B>];
}

/** A scalar shorthand or the full mapping: `- example.com` or `- {name: example.com, realm: ...}`. */
export function either<A, B>(scalar: Field<A>, mapping: Field<B>, meta: { type: string; description: string }): EitherField<A, B> {
  return {
    options: [scalar, mapping],
    doc: { type: meta.type, description: meta.description },
    check(value, path, issues) {
      return (isMapping(value) ? mapping.check(value, path, issues) : scalar.check(value, path, issues)) as Checked<NonNullable<A> | NonNullable<B>>;
    },
    absent: (path, issues) => scalar.absent(path, issues) as Checked<NonNullable<A>>,
  };
}

/** The field at a key path (for overrides from flags and environment variables). */
export function fieldAt(root: Field<unknown>, path: readonly string[]): Field<unknown> {
  let f: Field<unknown> = root;
  for (const p of path) {
    const shape = (f as Partial<ObjectField<Shape>>).shape;
    if (shape === undefined || !(p in shape)) throw new Error(`no config key ${path.join('.')}`);
    f = shape[p];
  }
  return f;
}
