/**
 * Tokens per role (right, wrong, missing) on a real server; TLS and mutual TLS from certificate
 * files (trusted, untrusted and missing certificates); health and reflection stay open.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { AdminClient, AdminService } from '../../generated/nameserver/v1/admin';
import { BrokerRegistryClient, BrokerRegistryService } from '../../generated/nameserver/v1/broker_registry';
import { RouteQueryClient, RouteQueryService } from '../../generated/nameserver/v1/route_query';
import { rejectsWith, startServer, type Started } from '../helpers/server';
import { makePki, type TestPki } from '../helpers/certs';
import { report, topic } from '../fixtures/reports';

const bearer = (token?: string) => (token === undefined ? {} : { authorization: `Bearer ${token}` });
function md(token?: string): grpc.Metadata {
  const m = new grpc.Metadata();
  for (const [k, v] of Object.entries(bearer(token))) m.set(k, v);
  return m;
}

function unary<Res>(fn: (cb: (err: grpc.ServiceError | null, res: Res) => void) => unknown): Promise<Res> {
  return new Promise((resolve, reject) => fn((err, res) => (err ? reject(err) : resolve(res))));
}

describe('bearer tokens per role', () => {
  let s: Started;
  before(async () => {
    s = await startServer({ brokerToken: 'broker-t', adminToken: 'admin-t', clientToken: 'client-t' });
  });
  after(() => s.stop());

  const cases: { who: string; token: string | undefined; broker: grpc.status; client: grpc.status; admin: grpc.status }[] = [
    { who: 'no token', token: undefined, broker: grpc.status.UNAUTHENTICATED, client: grpc.status.UNAUTHENTICATED, admin: grpc.status.UNAUTHENTICATED },
    { who: 'a wrong token', token: 'nope', broker: grpc.status.UNAUTHENTICATED, client: grpc.status.UNAUTHENTICATED, admin: grpc.status.UNAUTHENTICATED },
    { who: 'the broker token', token: 'broker-t', broker: grpc.status.OK, client: grpc.status.OK, admin: grpc.status.PERMISSION_DENIED },
    { who: 'the client token', token: 'client-t', broker: grpc.status.PERMISSION_DENIED, client: grpc.status.OK, admin: grpc.status.PERMISSION_DENIED },
    { who: 'the admin token', token: 'admin-t', broker: grpc.status.PERMISSION_DENIED, client: grpc.status.OK, admin: grpc.status.OK },
  ];
  for (const c of cases) {
    test(`${c.who}: BrokerRegistry ${grpc.status[c.broker]}, RouteQuery ${grpc.status[c.client]}, Admin ${grpc.status[c.admin]}`, async () => {
      const creds = grpc.credentials.createInsecure();
      const b = new BrokerRegistryClient(s.address, creds);
      const r = new RouteQueryClient(s.address, creds);
      const a = new AdminClient(s.address, creds);
      const outcome = async (p: Promise<unknown>) => {
        try {
          await p;
          return grpc.status.OK;
        } catch (e) {
          const err = e as grpc.ServiceError;
          assert.doesNotMatch(err.details, /broker-t|admin-t|client-t/, 'tokens never echoed');
          return err.code;
        }
      };
      assert.equal(await outcome(unary((cb) => b.registerBroker(report(`tok-${c.token ?? 'none'}`, 0, ['tok']), md(c.token), cb))), c.broker);
      const routeOutcome = await outcome(unary((cb) => r.getRoute({ topic: 'tok' }, md(c.token), cb)));
      // OK means authorised; the topic may or may not exist yet depending on test order.
      assert.equal(routeOutcome === grpc.status.NOT_FOUND ? grpc.status.OK : routeOutcome, c.client);
      assert.equal(await outcome(unary((cb) => a.getClusterInfo({}, md(c.token), cb))), c.admin);
      // Streams are checked too.
      const stream = r.watchRoutes(md(c.token));
      const streamOutcome = await new Promise<grpc.status>((resolve) => {
        stream.on('data', () => {
          stream.cancel();
          resolve(grpc.status.OK);
        });
        stream.on('error', (e: grpc.ServiceError) => resolve(e.code === grpc.status.CANCELLED ? grpc.status.OK : e.code));
        stream.write({ subscribe: [{ topic: 'tok', version: '' }], unsubscribe: [], allTopics: false });
      });
      assert.equal(streamOutcome, c.client);
      [b, r, a].forEach((x) => x.close());
    });
  }

  test('health stays open without a token', async () => {
    const { HealthClient } = await loadHealth();
    const h = new HealthClient(s.address, grpc.credentials.createInsecure());
    const res = await unary<{ status: string }>((cb) => h.check({ service: '' }, cb));
    assert.equal(res.status, 'SERVING');
    h.close();
  });
});

describe('every RPC of every service, by role', () => {
  const services = [
    { role: 'broker', def: BrokerRegistryService },
    { role: 'client', def: RouteQueryService },
    { role: 'admin', def: AdminService },
  ] as const;
  const tokens = { broker: 'broker-t', admin: 'admin-t', client: 'client-t' };
  /** Status of one call of `path` with an empty request (any status but the auth ones means "authorised"). */
  function probe(raw: grpc.Client, m: { path: string; requestStream: boolean; responseStream: boolean }, token?: string): Promise<grpc.status> {
    const id = (b: Buffer) => b;
    const metadata = md(token);
    const deadline = Date.now() + 3_000;
    return new Promise((resolve) => {
      if (!m.requestStream && !m.responseStream) {
        raw.makeUnaryRequest(m.path, id, id, Buffer.alloc(0), metadata, { deadline }, (err) => resolve(err ? err.code : grpc.status.OK));
        return;
      }
      const c = m.requestStream
        ? raw.makeBidiStreamRequest(m.path, id, id, metadata, { deadline })
        : raw.makeServerStreamRequest(m.path, id, id, Buffer.alloc(0), metadata, { deadline });
      c.on('data', () => {
        resolve(grpc.status.OK);
        c.cancel();
      });
      c.on('error', (e: grpc.ServiceError) => resolve(e.code));
      c.on('end', () => resolve(grpc.status.OK));
      if (m.requestStream) (c as grpc.ClientDuplexStream<Buffer, Buffer>).write(Buffer.alloc(0));
    });
  }

  test('no token → UNAUTHENTICATED, another role\'s token → PERMISSION_DENIED, the right token → served', async () => {
    const s = await startServer({ brokerToken: tokens.broker, adminToken: tokens.admin, clientToken: tokens.client });
    const raw = new grpc.Client(s.address, grpc.credentials.createInsecure());
    try {
      for (const { role, def } of services) {
        const other = role === 'admin' ? tokens.broker : tokens.admin;
        for (const m of Object.values(def)) {
          assert.equal(await probe(raw, m), grpc.status.UNAUTHENTICATED, `${m.path} without a token`);
          assert.equal(await probe(raw, m, 'wrong'), grpc.status.UNAUTHENTICATED, `${m.path} with a wrong token`);
          if (role !== 'client') assert.equal(await probe(raw, m, other), grpc.status.PERMISSION_DENIED, `${m.path} with another role's token`);
          const served = await probe(raw, m, tokens[role]);
          assert.ok(served !== grpc.status.UNAUTHENTICATED && served !== grpc.status.PERMISSION_DENIED, `${m.path} with its token: ${grpc.status[served]}`);
        }
      }
    } finally {
      raw.close();
      await s.stop();
    }
  });
});

async function loadHealth(): Promise<{ HealthClient: new (addr: string, c: grpc.ChannelCredentials) => grpc.Client & { check: (req: object, cb: (e: grpc.ServiceError | null, r: { status: string }) => void) => void } }> {
  const protoLoader = await import('@grpc/proto-loader');
  const { protoPath } = await import('grpc-health-check');
  const def = protoLoader.loadSync(protoPath, { enums: String });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { grpc: { health: { v1: { Health: never } } } };
  return { HealthClient: pkg.grpc.health.v1.Health };
}

describe('TLS and mutual TLS', () => {
  let pki: TestPki;
  before(() => {
    pki = makePki();
  });

  test('TLS: a client trusting the CA connects; an untrusting or plaintext client cannot', async () => {
    const s = await startServer({ tlsCertFile: pki.serverCert, tlsKeyFile: pki.serverKey });
    try {
      const good = new RouteQueryClient(s.address, grpc.credentials.createSsl(pki.read(pki.caCert)));
      await rejectsWith(unary((cb) => good.getRoute({ topic: 'none' }, cb)), grpc.status.NOT_FOUND); // a real answer over TLS
      const untrusting = new RouteQueryClient(s.address, grpc.credentials.createSsl(pki.read(pki.rogueCaCert)));
      await rejectsWith(unary((cb) => untrusting.getRoute({ topic: 'none' }, new grpc.Metadata(), { deadline: Date.now() + 3000 }, cb)), grpc.status.UNAVAILABLE);
      const plain = new RouteQueryClient(s.address, grpc.credentials.createInsecure());
      await rejectsWith(unary((cb) => plain.getRoute({ topic: 'none' }, new grpc.Metadata(), { deadline: Date.now() + 3000 }, cb)), grpc.status.UNAVAILABLE);
      [good, untrusting, plain].forEach((c) => c.close());
    } finally {
      await s.stop();
    }
  });

  test('mutual TLS: only clients with a certificate from the configured CA are served', async () => {
    const s = await startServer({ tlsCertFile: pki.serverCert, tlsKeyFile: pki.serverKey, tlsClientCaFile: pki.caCert });
    try {
      const ca = pki.read(pki.caCert);
      const good = new BrokerRegistryClient(s.address, grpc.credentials.createSsl(ca, pki.read(pki.clientKey), pki.read(pki.clientCert)));
      const ok = await unary<{ complete: boolean }>((cb) => good.registerBroker(report('mtls', 0, [topic('mtls-t')]), cb));
      assert.equal(ok.complete, true);
      const rogue = new BrokerRegistryClient(s.address, grpc.credentials.createSsl(ca, pki.read(pki.rogueClientKey), pki.read(pki.rogueClientCert)));
      await rejectsWith(unary((cb) => rogue.registerBroker(report('mtls', 0, ['x']), new grpc.Metadata(), { deadline: Date.now() + 3000 }, cb)), grpc.status.UNAVAILABLE);
      const noCert = new BrokerRegistryClient(s.address, grpc.credentials.createSsl(ca));
      await rejectsWith(unary((cb) => noCert.registerBroker(report('mtls', 0, ['x']), new grpc.Metadata(), { deadline: Date.now() + 3000 }, cb)), grpc.status.UNAVAILABLE);
      [good, rogue, noCert].forEach((c) => c.close());
    } finally {
      await s.stop();
    }
  });

  test('expired certificates are refused: a client will not trust an expired server, an mTLS server rejects an expired client', async () => {
    const expired = await startServer({ tlsCertFile: pki.expiredServerCert, tlsKeyFile: pki.expiredServerKey });
    try {
      const c = new RouteQueryClient(expired.address, grpc.credentials.createSsl(pki.read(pki.caCert)));
      const e = await rejectsWith(unary((cb) => c.getRoute({ topic: 'x' }, new grpc.Metadata(), { deadline: Date.now() + 3000 }, cb)), grpc.status.UNAVAILABLE);
      assert.match(e.details, /expired|certificate/i);
      c.close();
    } finally {
      await expired.stop();
    }
    const s = await startServer({ tlsCertFile: pki.serverCert, tlsKeyFile: pki.serverKey, tlsClientCaFile: pki.caCert });
    try {
      const c = new BrokerRegistryClient(s.address, grpc.credentials.createSsl(pki.read(pki.caCert), pki.read(pki.expiredClientKey), pki.read(pki.expiredClientCert)));
      await rejectsWith(unary((cb) => c.registerBroker(report('exp', 0, ['x']), new grpc.Metadata(), { deadline: Date.now() + 3000 }, cb)), grpc.status.UNAVAILABLE);
      assert.equal(s.server.core.brokers.size, 0);
      c.close();
    } finally {
      await s.stop();
    }
  });

  test('a half-configured TLS setup refuses to start with a message naming the flags', async () => {
    await assert.rejects(startServer({ tlsCertFile: pki.serverCert }), /--tls-cert and --tls-key/);
    await assert.rejects(startServer({ tlsClientCaFile: pki.caCert }), /--tls-client-ca needs/);
  });
});
