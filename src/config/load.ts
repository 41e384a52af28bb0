/**
 * Loading the configuration: defaults, then the YAML file (--config or SIPLINE_CONFIG), then
 * environment variables, then command-line flags; each value checked by the schema, every problem
 * reported with the key path (or the flag or variable), the bad value and what is allowed. The
 * only module of sipline that reads process.env.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { type Field, type FieldDoc, formatPath, type Issue, INVALID, type ObjectField, type Path, type Shape } from './fields.ts';
import { configSchema, type SiplineConfig } from './schema.ts';

/** A config that cannot be used; `problems` holds one line per problem. Exit status 2 in the CLI. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
  }
}

/** Values from command-line flags, by config key path ("listen", "log.level"). */
export type Overrides = Partial<Record<string, string | string[]>>;

export interface LoadOptions {
  /** The config file (--config); SIPLINE_CONFIG when absent; none when both are absent. */
  file?: string;
  overrides?: Overrides;
  /** Environment variables (default process.env). */
  env?: Record<string, string | undefined>;
  /** Base of relative paths given on the command line or in variables (default process.cwd()). */
  cwd?: string;
}

export interface LoadedConfig {
  config: SiplineConfig;
  /** The config file read, as an absolute path, or null. */
  file: string | null;
}

export const CONFIG_ENV = 'SIPLINE_CONFIG';

/** Keys holding file system paths: relative to the config file's directory when set in the file. */
const PATH_KEYS = ['data', 'script'] as const;

export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const fileArg = options.file ?? nonEmpty(env[CONFIG_ENV]);
  const fileLabel = options.file !== undefined ? '--config' : CONFIG_ENV;

  let raw: unknown = {};
  let locate: (path: Path) => number | undefined = () => undefined;
  if (fileArg !== undefined) ({ raw, locate } = readYaml(fileArg, fileLabel, cwd));

  const issues: Issue[] = [];
  const checked = configSchema.check(raw ?? {}, [], issues);
  if (checked === INVALID || issues.length > 0) {
    throw new ConfigError(issues.map((i) => fileProblem(fileArg as string, i, locate(i.path))));
  }
  const config = checked as SiplineConfig;
  const fileDir = fileArg === undefined ? cwd : dirname(resolve(cwd, fileArg));
  const fromFile = (raw ?? {}) as Record<string, unknown>;
  for (const key of PATH_KEYS) {
    const value = config[key];
    if (value !== undefined) config[key] = resolve(key in fromFile ? fileDir : cwd, value);
  }
  resolveTlsFiles(config.tls, fileDir);

  // environment variables, then flags: each value checked by the key's own field
  const problems: string[] = [];
  const apply = (path: string[], field: Field<unknown>, label: string, value: string | string[]) => {
    const found: Issue[] = [];
    let result: unknown;
    if (Array.isArray(value)) {
      const item = (field as unknown as { item: Field<unknown> }).item;
      result = value.map((v) => item.check(v, [], found));
    } else {
      result = field.check(value, [], found);
    }
    for (const i of found) problems.push(`${label} ${i.text}`);
    if (found.length > 0) return;
    if (PATH_KEYS.includes(path[0] as (typeof PATH_KEYS)[number])) result = resolve(cwd, result as string);
    setAt(config, path, result);
  };
  for (const { path, field } of overridable()) {
    const value = field.doc.env === undefined ? undefined : nonEmpty(env[field.doc.env]);
    if (value !== undefined) apply(path, field, field.doc.env as string, value);
  }
  for (const { path, field } of overridable()) {
    const value = options.overrides?.[path.join('.')];
    if (value === undefined || (Array.isArray(value) && value.length === 0)) continue;
    if (field.doc.flag === undefined) throw new Error(`config key ${path.join('.')} has no flag`);
    apply(path, field, field.doc.flag, value);
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const consistency = crossCheck(config);
  if (consistency.length > 0) throw new ConfigError(consistency.map((i) => fileProblem(fileArg ?? 'configuration', i, locate(i.path))));
  return { config, file: fileArg === undefined ? null : resolve(cwd, fileArg) };
}

/** The keys that a flag or an environment variable can set, with their fields. */
export function overridable(): Array<{ path: string[]; field: Field<unknown>; doc: FieldDoc }> {
  const out: Array<{ path: string[]; field: Field<unknown>; doc: FieldDoc }> = [];
  const walk = (shape: Shape, prefix: string[]) => {
    for (const [key, field] of Object.entries(shape)) {
      const nested = (field as Partial<ObjectField<Shape>>).shape;
      if (nested !== undefined) walk(nested, [...prefix, key]);
      else if (field.doc.flag !== undefined || field.doc.env !== undefined) out.push({ path: [...prefix, key], field, doc: field.doc });
    }
  };
  walk(configSchema.shape, []);
  return out;
}

function readYaml(file: string, label: string, cwd: string): { raw: unknown; locate: (path: Path) => number | undefined } {
  let text: string;
  try {
    text = readFileSync(resolve(cwd, file), 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'is a directory, not a file' : e.message;
    throw new ConfigError([`${label} ${JSON.stringify(file)}: ${why}`]);
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(doc.errors.map((e) => `${file}: not valid YAML: ${e.message.split('\n')[0]}`));
  }
  const raw: unknown = doc.toJS();
  const locate = (path: Path): number | undefined => {
    let node: unknown = doc.contents;
    let at: Node | undefined;
    for (const p of path) {
      if (isMap(node)) {
        const pair = node.items.find((it) => isScalar(it.key) && String(it.key.value) === String(p));
        if (pair === undefined) break;
        at = pair.key as Node;
        node = pair.value;
      } else if (isSeq(node) && typeof p === 'number') {
        node = node.items[p];
        at = node as Node;
      } else {
        break;
      }
    }
    const offset = at?.range?.[0];
    return offset === undefined ? undefined : lineCounter.linePos(offset).line;
  };
  return { raw, locate };
}

function fileProblem(file: string, issue: Issue, line: number | undefined): string {
  const where = issue.path.length === 0 ? '' : `${formatPath(issue.path)}: `;
  return `${file}: ${where}${issue.text}${line === undefined ? '' : ` (line ${line})`}`;
}

/** Relations between keys that no single field can check. */
function crossCheck(config: SiplineConfig): Issue[] {
  const issues: Issue[] = [];
  const r = config.registrar;
  const range = (path: Path, min: number, max: number, deflt: number) => {
    if (min > max) issues.push({ path: [...path, 'min_expires'], text: `${min} is above max_expires (${max})` });
    else if (deflt < min || deflt > max) issues.push({ path: [...path, 'default_expires'], text: `${deflt} is outside min_expires to max_expires (${min} to ${max})` });
  };
  range(['registrar'], r.min_expires, r.max_expires, r.default_expires);
  for (const [name, d] of Object.entries(r.domains)) {
    range(['registrar', 'domains', name], d.min_expires ?? r.min_expires, d.max_expires ?? r.max_expires, d.default_expires ?? r.default_expires);
  }
  if (config.timers.t1 > config.timers.t2) issues.push({ path: ['timers', 't1'], text: `${config.timers.t1} is above timers.t2 (${config.timers.t2})` });
  issues.push(...tlsProblems(config));
  return issues;
}

/** The files of `tls` (set in the config file only) are relative to the file's directory. */
function resolveTlsFiles(t: SiplineConfig['tls'], base: string): void {
  if (t.certificate !== undefined) t.certificate = resolve(base, t.certificate);
  if (t.private_key !== undefined) t.private_key = resolve(base, t.private_key);
  if (t.ca !== undefined) t.ca = resolve(base, t.ca);
  for (const d of Object.values(t.domains)) {
    d.certificate = resolve(base, d.certificate as string);
    d.private_key = resolve(base, d.private_key as string);
  }
}

/** TLS settings that cannot work together: a tls/wss listener without a certificate, client verification without a CA, missing files. */
function tlsProblems(config: SiplineConfig): Issue[] {
  const issues: Issue[] = [];
  const t = config.tls;
  const secure = config.listen.filter((l) => l.protocol === 'tls' || l.protocol === 'wss');
  if (secure.length > 0 && (t.certificate === undefined || t.private_key === undefined)) {
    const spec = `${secure[0].protocol}:${secure[0].host}:${secure[0].port}`;
    issues.push({ path: ['listen'], text: `the ${secure[0].protocol} listener ${spec} needs tls.certificate and tls.private_key (\`sipline cert create\` makes a pair for development)` });
  }
  if ((t.certificate === undefined) !== (t.private_key === undefined)) {
    issues.push({ path: ['tls', t.certificate === undefined ? 'certificate' : 'private_key'], text: 'is missing: tls.certificate and tls.private_key go together' });
  }
  if (t.verify_clients !== 'none' && t.ca === undefined) {
    issues.push({ path: ['tls', 'verify_clients'], text: `${JSON.stringify(t.verify_clients)} needs tls.ca, the CA that client certificates must chain to` });
  }
  if (t.trusted_peers.length > 0 && t.verify_clients === 'none') {
    issues.push({ path: ['tls', 'trusted_peers'], text: 'has no effect with tls.verify_clients "none": use optional or required' });
  }
  const file = (path: Path, value: string | undefined) => {
    if (value !== undefined && !existsSync(value)) issues.push({ path, text: `${JSON.stringify(value)}: no such file` });
  };
  file(['tls', 'certificate'], t.certificate);
  file(['tls', 'private_key'], t.private_key);
  file(['tls', 'ca'], t.ca);
  for (const [name, d] of Object.entries(t.domains)) {
    file(['tls', 'domains', name, 'certificate'], d.certificate);
    file(['tls', 'domains', name, 'private_key'], d.private_key);
  }
  return issues;
}

function setAt(target: Record<string, unknown>, path: string[], value: unknown): void {
  let o = target;
  for (const p of path.slice(0, -1)) o = o[p] as Record<string, unknown>;
  o[path[path.length - 1]] = value;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
