/**
 * docs/configuration.md, generated from the schema (scripts/gen-config-docs.ts writes it; a test
 * checks that the committed file equals this text).
 */
import type { EitherField, Field, FieldDoc, ListField, ObjectField, RecordField, Shape } from './fields.ts';
import { CONFIG_ENV, overridable } from './load.ts';
import { configSchema, EXAMPLE_CONFIG } from './schema.ts';

interface Row {
  key: string;
  doc: FieldDoc;
}

function rows(field: Field<unknown>, key: string, out: Row[]): Row[] {
  const shape = (field as Partial<ObjectField<Shape>>).shape;
  if (shape !== undefined) {
    if (key !== '') out.push({ key, doc: field.doc });
    for (const [k, f] of Object.entries(shape)) rows(f, key === '' ? k : `${key}.${k}`, out);
    return out;
  }
  out.push({ key, doc: field.doc });
  const item = (field as Partial<ListField<unknown>>).item;
  if (item !== undefined) {
    // a list of mappings (or scalars-or-mappings) documents the keys of its entries
    const options = (item as Partial<EitherField<unknown, unknown>>).options ?? [item];
    for (const o of options) if ((o as Partial<ObjectField<Shape>>).shape !== undefined) rows(o, `${key}[]`, out);
  }
  const value = (field as Partial<RecordField<unknown>>).value;
  if (value !== undefined) rows(value, `${key}.NAME`, out);
  return out;
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderConfigDocs(): string {
  const all = rows(configSchema, '', []).filter((r) => !r.key.endsWith('[]'));
  const groups = new Map<string, Row[]>();
  for (const r of all) {
    const top = r.key.split(/[.[]/)[0];
    groups.set(top, [...(groups.get(top) ?? []), r]);
  }

  const out: string[] = [
    '# Configuration',
    '',
    '<!-- Generated from src/config/schema.ts by `npm run docs:config`. Do not edit by hand. -->',
    '',
    'sipline reads an optional YAML file given with `--config FILE` (or the environment variable',
    `\`${CONFIG_ENV}\`). Every key is optional. Values come, from weakest to strongest, from the defaults`,
    'below, the file, environment variables, and command-line flags; a flag for a list (`--listen`,',
    '`--domain`) replaces the list of the file. Relative paths in the file are relative to the',
    "file's directory; on the command line and in variables, to the working directory.",
    '',
    'Every command (`sipline start`, `sipline user ...`, `sipline domain ...`, `sipline location`)',
    'reads the same file, so that provisioning works on the store of the running server.',
    '',
    'A problem in the file stops sipline with exit status 2 and one line per problem naming the key,',
    'the value and what is allowed, for example:',
    '',
    '```',
    'config.yaml: registrar.min_expires: "abc" is not a whole number of seconds (line 7)',
    'config.yaml: registrar.max_expire: unknown key; the known keys of registrar are: default_expires, min_expires, max_expires, max_contacts, domains (line 8)',
    '```',
    '',
    '## Example',
    '',
    '```yaml',
    EXAMPLE_CONFIG.trimEnd(),
    '```',
    '',
    '## Keys',
  ];
  for (const [top, list] of groups) {
    const group = (configSchema.shape as Shape)[top];
    out.push('', `### \`${top}\``, '');
    // a mapping gets its description above the table; a single key has it in its row
    if ((group as Partial<ObjectField<Shape>>).shape !== undefined) out.push(group.doc.description, '');
    out.push('| key | type | default | allowed | description |', '|---|---|---|---|---|');
    for (const r of list) {
      const d = r.doc;
      const over = [d.flag && `flag \`${d.flag}\``, d.env && `variable \`${d.env}\``].filter(Boolean).join(', ');
      const description = over === '' ? d.description : `${d.description} Overridden by ${over}.`;
      out.push(`| \`${r.key}\` | ${cell(d.type)} | ${d.default === undefined ? '' : `\`${cell(d.default)}\``} | ${cell(d.allowed ?? '')} | ${cell(description)} |`);
    }
  }

  out.push('', '## Flags and environment variables', '', '| key | flag | environment variable |', '|---|---|---|', `| (the config file) | \`--config\` | \`${CONFIG_ENV}\` |`);
  for (const o of overridable()) {
    out.push(`| \`${o.path.join('.')}\` | ${o.doc.flag === undefined ? '' : `\`${o.doc.flag}\``} | ${o.doc.env === undefined ? '' : `\`${o.doc.env}\``} |`);
  }
  out.push('');
  return out.join('\n');
}
