/**
 * The start-up rehearsal (src/rehearsal.ts): a private server carries registrations, digest
 * challenges, calls with Record-Route, ACK and BYE, and OPTIONS from a private user agent over
 * real loopback UDP, then stops; the real server starts afterwards with none of it in its state.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startServer } from '../../src/app.ts';
import { rehearse } from '../../src/rehearsal.ts';
import { MemoryStore } from '../../src/store/index.ts';
import { computeHa1 } from '../../src/services/auth/index.ts';
import rehearsalScript from '../../src/routing/rehearsal-script.ts';
import type { RequestContext } from '../../src/routing/index.ts';

test('a short prelude on one private server, then every planned registration, call and OPTIONS on another; both gone afterwards', { timeout: 30_000 }, async () => {
  // per private server: its port, what it received, how many pings its script answered statelessly
  const passes: Array<{ port: number; received: number; bindings: number; stateless: number; stopped: boolean }> = [];
  let statelessAnswers = 0;
  const watched = {
    onRequest(ctx: RequestContext) {
      const replyStateless = ctx.replyStateless.bind(ctx);
      ctx.replyStateless = (status, options) => {
        if (ctx.method === 'OPTIONS') statelessAnswers++;
        return replyStateless(status, options);
      };
      return rehearsalScript.onRequest(ctx);
    },
  };
  const result = await rehearse(
    async (domain, usernames, password) => {
      const store = new MemoryStore();
      await store.importSubscribers(usernames.map((username) => ({ username, domain, ha1Md5: computeHa1('MD5', username, domain, password), ha1Sha256: computeHa1('SHA-256', username, domain, password) })));
      const server = await startServer({ listen: [{ protocol: 'udp', host: '127.0.0.1', port: 0 }], domains: [{ name: domain }], store, script: watched, logLevel: 'silent', warmUp: false, security: { flood: { requests: 0 } } });
      statelessAnswers = 0;
      const pass = { port: server.listeners[0].port, received: 0, bindings: 0, stateless: 0, stopped: false };
      passes.push(pass);
      return {
        listeners: server.listeners,
        stop: async () => {
          // what the rehearsal did, seen by the server that carried it
          assert.equal(server.counters.get('transaction.server_timeout'), 0);
          pass.received = server.counters.get('transport.udp.received');
          pass.bindings = server.location.size;
          pass.stateless = statelessAnswers;
          await server.stop();
          pass.stopped = true;
        },
      };
    },
    { registrations: 30, users: 10, calls: 20, options: 50, window: 8, timeoutMs: 10_000 },
  );
  assert.deepEqual({ completed: result.completed, failed: result.failed, planned: result.planned }, { completed: 100, failed: 0, planned: 100 });
  assert.equal(passes.length, 2, 'the prelude and the plan, each on a private server of its own');
  const [prelude, main] = passes;
  assert.ok(prelude.port > 0 && main.port > 0);
  assert.ok(prelude.stopped && main.stopped, 'both private servers were stopped');
  // the prelude (src/rehearsal.ts PRELUDE): 20 registrations of 10 users, 20 calls, 50 pings
  assert.ok(prelude.received >= 20 * 2 + 20 * 6 + 50);
  assert.equal(prelude.bindings, 10);
  assert.equal(prelude.stateless, 25);
  // the plan: two REGISTERs per registration, six datagrams in per call, one per OPTIONS
  assert.ok(main.received >= 30 * 2 + 20 * 6 + 50);
  assert.equal(main.bindings, 10, 'the registrations added a binding for each of the ten users, then refreshed them');
  assert.equal(main.stateless, 25, 'every other OPTIONS is answered statelessly, as a script with sl_send_reply-style keep-alives does');
});

test('a server started with rehearsal: true has nothing of it in its own state', { timeout: 30_000 }, async () => {
  const server = await startServer({ listen: [{ protocol: 'udp', host: '127.0.0.1', port: 0 }], store: new MemoryStore(), logLevel: 'silent', rehearsal: true });
  try {
    assert.equal(server.counters.get('transport.udp.received'), 0);
    assert.equal(server.counters.get('transport.udp.sent'), 0);
    assert.equal(server.location.size, 0);
  } finally {
    await server.stop();
  }
});
