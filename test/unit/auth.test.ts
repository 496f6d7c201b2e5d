import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Metadata } from '@grpc/grpc-js';
import { PermissionDenied, Unauthenticated } from '../../src/server/metadata/errors';
import { Guard, INTERNAL_METADATA, isLoopbackPeer } from '../../src/server/network/grpc/auth';

const md = (auth?: string) => {
  const m = new Metadata();
  if (auth !== undefined) m.set('authorization', auth);
  return m;
};

describe('isLoopbackPeer', () => {
  const cases: [string, boolean][] = [
    ['127.0.0.1:5000', true],
    ['127.9.8.7:1', true],
    ['::1:5000', true],
    ['[::1]:5000', true],
    ['::ffff:127.0.0.1:5000', true],
    ['0:0:0:0:0:0:0:1:80', true],
    ['unix:/tmp/s.sock', true],
    ['10.0.0.5:5000', false],
    ['192.168.1.2:443', false],
    ['::ffff:10.0.0.1:5000', false],
    ['fe80::1:5000', false],
    ['2001:db8::1:5000', false],
    ['128.0.0.1:5000', false],
    ['localhost:5000', false],
    ['', false],
  ];
  for (const [peer, want] of cases) test(`${JSON.stringify(peer)} → ${want}`, () => assert.equal(isLoopbackPeer(peer), want));
});

describe('Guard', () => {
  const g = new Guard({ broker: 'b-secret', admin: 'a-secret', client: '' });

  test('no token configured for a role: open', () => {
    new Guard({ broker: '', admin: '', client: '' }).check('admin', md());
    g.check('client', md());
  });

  test('missing, malformed or unknown tokens are UNAUTHENTICATED', () => {
    assert.throws(() => g.check('admin', md()), Unauthenticated);
    assert.throws(() => g.check('admin', md('a-secret')), Unauthenticated);
    assert.throws(() => g.check('admin', md('Bearer nope')), Unauthenticated);
  });

  test('another role\'s valid token is PERMISSION_DENIED', () => {
    assert.throws(() => g.check('admin', md('Bearer b-secret')), (e: unknown) => e instanceof PermissionDenied && /broker token/.test(e.message));
    assert.throws(() => g.check('broker', md('Bearer a-secret')), PermissionDenied);
  });

  test('the right token passes; any token may read routes when a client token is required', () => {
    g.check('admin', md('Bearer a-secret'));
    g.check('broker', md('bearer b-secret'));
    const c = new Guard({ broker: 'b', admin: 'a', client: 'c' });
    c.check('client', md('Bearer c'));
    c.check('client', md('Bearer a'));
    assert.throws(() => c.check('client', md('Bearer x')), Unauthenticated);
  });

  test('error messages never contain the token', () => {
    try {
      g.check('admin', md('Bearer b-secret'));
    } catch (e) {
      assert.doesNotMatch((e as Error).message, /b-secret/);
    }
  });

  test('without an admin token, Admin writes are refused from non-loopback peers', () => {
    const open = new Guard({ broker: '', admin: '', client: '' });
    open.adminWrite({ getPeer: () => '127.0.0.1:4000' });
    open.adminWrite({ getPeer: () => '::1:4000' });
    assert.throws(() => open.adminWrite({ getPeer: () => '10.1.2.3:4000' }), PermissionDenied);
    assert.throws(() => open.adminWrite({ getPeer: () => '2001:db8::7:4000' }), PermissionDenied);
    // With an admin token the token (checked for the whole service) is what counts.
    g.adminWrite({ getPeer: () => '10.1.2.3:4000' });
  });

  test('the process\'s own gateway (proved by the per-process secret) may write; a guessed secret may not', () => {
    const open = new Guard({ broker: '', admin: '', client: '' });
    const withSecret = (v: string) => {
      const m = new Metadata();
      m.set(INTERNAL_METADATA, v);
      return { getPeer: () => 'unknown', metadata: m };
    };
    open.adminWrite(withSecret(open.internalSecret));
    assert.throws(() => open.adminWrite(withSecret('0'.repeat(64))), PermissionDenied);
    assert.throws(() => open.adminWrite(withSecret(new Guard({ broker: '', admin: '', client: '' }).internalSecret)), PermissionDenied);
  });
});
