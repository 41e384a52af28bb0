/**
 * Which worker owns a datagram (src/cluster/datagram-owner.ts), read from raw bytes: responses by
 * the worker tag our branches end with, MESSAGE/PUBLISH/SUBSCRIBE by the home worker, other
 * requests by their Call-ID (compact forms and any case of the header name included), and
 * "unknown" for what does not scan.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { branchWorker, datagramOwner, HOME_WORKER, UNKNOWN } from '../../src/cluster/index.ts';
import { newBranch, setBranchTag } from '../../src/shared/index.ts';

const request = (method: string, callIdHeader: string, extra = '') =>
  Buffer.from(
    `${method} sip:bob@example.test SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bKabc\r\nFrom: <sip:a@example.test>;tag=1\r\nTo: <sip:bob@example.test>\r\n${callIdHeader}\r\nCSeq: 1 ${method}\r\n${extra}Content-Length: 0\r\n\r\n`,
  );
const response = (via: string) => Buffer.from(`SIP/2.0 200 OK\r\n${via}\r\nFrom: <sip:a@example.test>;tag=1\r\nTo: <sip:bob@example.test>;tag=2\r\nCall-ID: abc\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n`);

describe('datagram owner', () => {
  test('requests of one Call-ID go to one worker whatever the method, header case or form', () => {
    for (const workers of [2, 3, 8]) {
      for (let i = 0; i < 50; i++) {
        const id = `call-${i}@host`;
        const owner = datagramOwner(request('INVITE', `Call-ID: ${id}`), workers);
        assert.ok(owner >= 0 && owner < workers, `owner ${owner} of ${workers}`);
        assert.equal(datagramOwner(request('ACK', `call-id:${id}  `), workers), owner, 'the ACK meets its INVITE');
        assert.equal(datagramOwner(request('CANCEL', `i: ${id}`), workers), owner, 'the CANCEL (compact Call-ID) meets its INVITE');
        assert.equal(datagramOwner(request('BYE', `CALL-ID: ${id}`), workers), owner, 'the BYE goes to the same worker');
      }
    }
  });

  test('Call-IDs spread over the workers', () => {
    const counts = [0, 0, 0];
    for (let i = 0; i < 3000; i++) counts[datagramOwner(request('INVITE', `Call-ID: ${i}-12040@127.0.0.1`), 3)]++;
    for (const c of counts) assert.ok(c > 800 && c < 1200, `uneven spread ${counts.join('/')}`);
  });

  test('MESSAGE, PUBLISH and SUBSCRIBE go to the home worker', () => {
    for (const method of ['MESSAGE', 'PUBLISH', 'SUBSCRIBE']) {
      for (let i = 0; i < 20; i++) assert.equal(datagramOwner(request(method, `Call-ID: x${i}`), 4), HOME_WORKER, method);
    }
  });

  test('a response goes to the worker named by the tag of its top Via branch', () => {
    setBranchTag(3);
    try {
      const branch = newBranch();
      assert.match(branch, /^z9hG4bK.+~3$/, 'branches of worker 3 end with ~3');
      assert.equal(datagramOwner(response(`Via: SIP/2.0/UDP 127.0.0.1:5060;branch=${branch};rport=5060`), 4), 3);
      assert.equal(datagramOwner(response(`v: SIP/2.0/UDP 127.0.0.1:5060 ;received=1.2.3.4; BRANCH = ${branch}`), 4), 3, 'compact Via, spaces, upper case');
      assert.equal(datagramOwner(response(`Via: SIP/2.0/UDP 127.0.0.1:5060;branch=${branch}, SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKx~1`), 4), 3, 'the top value counts');
      assert.equal(datagramOwner(response(`Via: SIP/2.0/UDP 127.0.0.1:5060;rport, SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKx~1`), 4), UNKNOWN, 'a branch of a lower Via does not count');
    } finally {
      setBranchTag(null);
    }
    assert.doesNotMatch(newBranch(), /~/, 'outside worker mode branches carry no tag');
  });

  test('the worker of a parsed branch (responses read from stream connections)', () => {
    assert.equal(branchWorker('z9hG4bKabc.def~1', 2), 1);
    assert.equal(branchWorker('z9hG4bKabc~12', 16), 12);
    assert.equal(branchWorker('z9hG4bKabc~12', 4), UNKNOWN, 'beyond the workers');
    assert.equal(branchWorker('z9hG4bKabc', 2), UNKNOWN, 'no tag');
    assert.equal(branchWorker('z9hG4bKabc~', 2), UNKNOWN, 'an empty tag');
    assert.equal(branchWorker('z9hG4bKabc~1x', 2), UNKNOWN, 'not digits');
    assert.equal(branchWorker(null, 2), UNKNOWN, 'no branch');
  });

  test('what does not scan is decided by the worker that read it', () => {
    assert.equal(datagramOwner(response('Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKplain'), 2), UNKNOWN, 'an untagged branch');
    assert.equal(datagramOwner(response('Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKx~7'), 2), UNKNOWN, 'a tag beyond the workers');
    assert.equal(datagramOwner(request('INVITE', 'X-No-Call-Id: 1'), 2), UNKNOWN, 'no Call-ID');
    assert.equal(datagramOwner(request('INVITE', 'Call-ID:   '), 2), UNKNOWN, 'an empty Call-ID');
    assert.equal(datagramOwner(Buffer.from('garbage'), 2), UNKNOWN, 'no line end');
    assert.equal(datagramOwner(Buffer.from('\r\n\r\n'), 2), UNKNOWN, 'a keep-alive');
    assert.equal(datagramOwner(request('INVITE', 'Call-ID: a'), 1), UNKNOWN, 'one worker: nothing to decide');
    // the body is not scanned: a Call-ID line after the blank line does not count
    const bodyOnly = Buffer.from('INVITE sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nContent-Length: 12\r\n\r\nCall-ID: zz\r\n');
    assert.equal(datagramOwner(bodyOnly, 2), UNKNOWN, 'a Call-ID in the body');
  });
});
