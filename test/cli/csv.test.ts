/** The CSV reader of `sipline user import`: quoting (RFC 4180), line endings, header, problems by line. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAccountsCsv } from '../../src/cli/csv.ts';
import { splitAddress, userProblem } from '../../src/cli/accounts.ts';

test('rows, CRLF, a BOM, the header and empty lines', () => {
  const { rows, problems } = parseAccountsCsv('\uFEFFUser,Password\r\n\r\nalice,pw1\r\n  \nbob@example.com,pw2\n');
  assert.deepEqual(problems, []);
  assert.deepEqual(rows, [
    { line: 3, fields: ['alice', 'pw1'] },
    { line: 5, fields: ['bob@example.com', 'pw2'] },
  ]);
});

test('the header is skipped only as the first line', () => {
  const { rows } = parseAccountsCsv('alice,pw\nuser,password\n');
  assert.deepEqual(rows.map((r) => r.fields), [['alice', 'pw'], ['user', 'password']]);
});

test('quoted fields hold commas and doubled quotes', () => {
  const { rows, problems } = parseAccountsCsv('"carol","a,b ""c"""\n"dave",\n');
  assert.deepEqual(problems, []);
  assert.deepEqual(rows.map((r) => r.fields), [['carol', 'a,b "c"'], ['dave', '']]);
});

test('broken quoting is a problem of its line', () => {
  const { rows, problems } = parseAccountsCsv('ok,pw\n"open,pw\n"x"y,pw\nab"c,pw\n');
  assert.equal(rows.length, 1);
  assert.deepEqual(problems, [
    { line: 2, problem: 'a quoted field has no closing quote' },
    { line: 3, problem: 'a quoted field is followed by something other than a comma' },
    { line: 4, problem: 'a quote inside an unquoted field (quote the whole field and double the quote)' },
  ]);
});

test('addresses and user names', () => {
  assert.deepEqual(splitAddress('sip:Alice@Example.COM'), { user: 'Alice', domain: 'example.com' });
  assert.equal(splitAddress('alice'), null);
  assert.equal(userProblem('alice.smith+1'), null);
  assert.equal(userProblem('%41lice'), null);
  assert.match(userProblem('al ice') ?? '', /cannot hold/);
  assert.match(userProblem('') ?? '', /empty/);
});
