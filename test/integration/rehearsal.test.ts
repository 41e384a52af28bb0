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

test('every planned registration, call and OPTIONS completes through the private server, which is gone afterwards', { timeout: 30_000 }, async () => {
  let privatePort = 0;
  let stopped = false;
  // the rehearsal's own script, watched: how many pings it answered without a transaction
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
      privatePort = server.listeners[0].port;
      return {
        listeners: server.listeners,
        stop: async () => {
          // what the rehearsal did, seen by the server that carried it
          assert.equal(server.counters.get('transaction.server_timeout'), 0);
          assert.equal(server.location.size, 10, 'the registrations added a binding for each of the ten users, then refreshed them');
          assert.ok(server.counters.get('transport.udp.received') >= 30 * 2 + 20 * 6 + 50, 'two REGISTERs per registration, six datagrams in per call, one per OPTIONS');
          await server.stop();
          stopped = true;
        },
      };
    },
    { registrations: 30, users: 10, calls: 20, options: 50, window: 8, timeoutMs: 10_000 },
  );
  assert.deepEqual({ completed: result.completed, failed: result.failed, planned: result.planned }, { completed: 100, failed: 0, planned: 100 });
  assert.ok(privatePort > 0);
  assert.equal(stopped, true, 'the private server was stopped');
  assert.equal(statelessAnswers, 25, 'every other OPTIONS is answered statelessly, as a script with sl_send_reply-style keep-alives does');
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
