/**
 * Routing scripts over real sockets: a user's script file (TypeScript) is loaded with --script
 * semantics, a script that throws or returns without answering fails that request with 500 while
 * the server keeps serving, and reloadScript() changes what new requests get.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startServer, type RunningServer } from '../../src/app.ts';
import { loadScript } from '../../src/routing/index.ts';
import { MemoryStore } from '../../src/store/index.ts';
import { UserAgent } from '../../src/ua/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'sipline-script-test-'));
const scriptFile = join(dir, 'my-script.ts');

function writeScript(body: string): void {
  writeFileSync(
    scriptFile,
    `import type { RequestContext, RoutingScript } from '../does-not-matter/index.ts';\n` +
      `const script: RoutingScript = { onRequest(ctx: RequestContext) {\n${body}\n} };\nexport default script;\n`,
  );
}

describe('routing scripts', { timeout: 30_000 }, () => {
  let server: RunningServer;
  let ua: UserAgent;
  let port: number;
  const options = (user: string) => ua.request({ method: 'OPTIONS', uri: `sip:${user}@127.0.0.1:${port}` });

  before(async () => {
    writeScript(`
      const user = ctx.request.uri.kind === 'sip' ? ctx.request.uri.user : null;
      if (user === 'boom') throw new Error('script failure on purpose');
      if (user === 'silent') return;
      if (user === 'stateless') { ctx.forwardStateless(ctx.request.get('x-target')); return; }
      ctx.reply(299, { reason: 'Version One' });`);
    server = await startServer({ listen: [{ protocol: 'udp', host: '127.0.0.1', port: 0 }], store: new MemoryStore(), script: scriptFile, logLevel: 'silent' });
    port = server.listeners[0].port;
    ua = await UserAgent.create({ listen: [{ protocol: 'udp', host: '127.0.0.1', port: 0 }] });
  });
  after(async () => {
    await ua.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a TypeScript script file answers requests', async () => {
    const r = await options('anyone');
    assert.equal(r.status, 299);
    assert.equal(r.reason, 'Version One');
  });

  test('a script that throws fails that request with 500, not the server', async () => {
    assert.equal((await options('boom')).status, 500);
    assert.equal((await options('anyone')).status, 299);
  });

  test('a script that returns without answering gets 500', async () => {
    const r = await options('silent');
    assert.equal(r.status, 500);
    assert.equal(r.reason, 'Not Routed');
  });

  test('forwardStateless relays the request and its response without transaction state (RFC 3261 §16.11)', async () => {
    const callee = await UserAgent.create({ listen: [{ protocol: 'udp', host: '127.0.0.1', port: 0 }] });
    const seen: Array<{ vias: number; branch: string | undefined; maxForwards: number | undefined }> = [];
    callee.onRequest = (incoming) => {
      seen.push({ vias: incoming.request.vias.length, branch: incoming.request.via.branch, maxForwards: incoming.request.maxForwards });
      incoming.respond(200);
    };
    try {
      const target = `sip:callee@127.0.0.1:${callee.transport.listeners()[0].port}`;
      const r = await ua.request({ method: 'OPTIONS', uri: `sip:stateless@127.0.0.1:${port}`, headers: [['X-Target', target]] });
      assert.equal(r.status, 200);
      assert.equal(r.vias.length, 1, 'the proxy removed its own Via from the response');
      assert.equal(seen.length, 1);
      assert.equal(seen[0].vias, 2, 'the proxy added its Via');
      assert.equal(seen[0].maxForwards, 69);
      assert.ok(seen[0].branch?.startsWith('z9hG4bK'), 'an RFC 3261 branch');
    } finally {
      await callee.close();
    }
  });

  test('reloadScript() takes effect for new requests', async () => {
    writeScript(`ctx.reply(298, { reason: 'Version Two' });`);
    await server.reloadScript();
    const r = await options('anyone');
    assert.equal(r.status, 298);
    assert.equal(r.reason, 'Version Two');
  });

  test('a file without onRequest is refused with a message that says what to export', async () => {
    const bad = join(dir, 'bad.ts');
    writeFileSync(bad, 'export const nothing = 1;\n');
    await assert.rejects(loadScript(bad), /must export default an object with onRequest/);
  });
});
