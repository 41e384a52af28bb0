/**
 * The CSV of `sipline user import`: one account per line, `user,password` or
 * `user@domain,password`; fields may be double-quoted (a quote inside doubled, RFC 4180), empty
 * lines and a first line `user,password` are skipped.
 */

export interface CsvRow {
  line: number;
  fields: string[];
}

export interface CsvProblem {
  line: number;
  problem: string;
}

const HEADER = /^\s*"?user(name)?(@domain)?"?\s*,\s*"?password"?\s*$/i;

export function parseAccountsCsv(text: string): { rows: CsvRow[]; problems: CsvProblem[] } {
  const rows: CsvRow[] = [];
  const problems: CsvProblem[] = [];
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  let seenContent = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].endsWith('\r') ? lines[i].slice(0, -1) : lines[i];
    if (line.trim() === '') continue;
    const first = !seenContent;
    seenContent = true;
    if (first && HEADER.test(line)) continue;
    const fields = splitFields(line);
    if (typeof fields === 'string') problems.push({ line: i + 1, problem: fields });
    else rows.push({ line: i + 1, fields });
  }
  return { rows, problems };
}

/** The fields of one line, or a problem. */
function splitFields(line: string): string[] | string {
  if (!line.includes('"')) return line.split(',');
  const fields: string[] = [];
  let i = 0;
  while (true) {
    if (line[i] === '"') {
      let value = '';
      i++;
      while (true) {
        const q = line.indexOf('"', i);
        if (q < 0) return 'a quoted field has no closing quote';
        value += line.slice(i, q);
        if (line[q + 1] === '"') {
          value += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      fields.push(value);
      if (i === line.length) return fields;
      if (line[i] !== ',') return 'a quoted field is followed by something other than a comma';
      i++;
    } else {
      const comma = line.indexOf(',', i);
      const value = comma < 0 ? line.slice(i) : line.slice(i, comma);
      if (value.includes('"')) return 'a quote inside an unquoted field (quote the whole field and double the quote)';
      fields.push(value);
      if (comma < 0) return fields;
      i = comma + 1;
    }
  }
}
