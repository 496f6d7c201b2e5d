/**
 * Broker and network faults: a hung broker (SIGSTOP) is expired by HTTP/2 keep-alive; a broker cut
 * off from one replica only disappears there and stays on the other, and CheckReplicas names the
 * disagreement.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { call, exited, rejectsWith, startServer, type Started } from '../helpers/server';
import { FaultProxy } from '../helpers/proxy';
import { WatchProbe } from '../helpers/watch';
import { FakeBroker } from '../fixtures/fake-broker';
import { RouteEventType } from '../../generated/nameserver/v1/route_query';

const root = path.resolve(__dirname, '..', '..');
const children: ChildProcess[] = [];
after(async () => {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGCONT');
      c.kill('SIGKILL');
    }
    await exited(c);
  }
});

/** A Connect broker process (test/fixtures/connect-broker.ts); resolves once registered. */
async function broker(address: string, name: string, topics: string[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'test/fixtures/connect-broker.ts'), address, name, '0', topics.join(',')], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  children.push(child);
  await once(child.stdout!, 'data');
  return child;
}

function removed(s: Started, topic: string): Promise<void> {
  return new Promise((resolve) => {
    const on = (t: string) => {
      if (t !== topic) return;
      s.server.core.routes.off('removed', on);
      resolve();
    };
    s.server.core.routes.on('removed', on);
  });
}

describe('broker faults', () => {
  test('a hung broker (SIGSTOP) is expired through HTTP/2 keep-alive, though its TCP connection stays open', async () => {
    const s = await startServer({ keepaliveTimeMs: 300, keepaliveTimeoutMs: 300, streamGraceMs: 100 });
    try {
      const child = await broker(s.address, 'hung', ['hung-t']);
      assert.ok((await call(s.routes, 'getRoute', { topic: 'hung-t' })).route);
      const gone = removed(s, 'hung-t');
      child.kill('SIGSTOP');
      await gone;
      await rejectsWith(call(s.routes, 'getRoute', { topic: 'hung-t' }), status.NOT_FOUND);
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    } finally {
      await s.stop();
    }
  });
});

describe('a broker reconnecting in a loop', () => {
  test('reconnects within the grace keep its routes: no removal, no flapping; one session left', async () => {
    const s = await startServer({ streamGraceMs: 1_000 });
    try {
      const w = new WatchProbe(s.routes);
      w.subscribe('loop-t');
      const first = new FakeBroker(s.address, 'looper', ['loop-t']);
      await first.connect();
      await w.until((p) => p.latest('loop-t')?.type === RouteEventType.ROUTE_EVENT_TYPE_UPDATED);
      let b = first;
      for (let i = 0; i < 20; i++) {
        b.close();
        b = new FakeBroker(s.address, 'looper', ['loop-t']);
        await b.connect();
      }
      await w.synced();
      assert.equal(w.events.filter((e) => e.type === RouteEventType.ROUTE_EVENT_TYPE_REMOVED).length, 0, 'no removal');
      assert.equal(w.routeMessages, 1, 'the route never changed');
      assert.equal(s.server.sessions.size, 1);
      assert.equal(s.server.core.brokers.size, 1);
      b.close();
      await removed(s, 'loop-t');
      w.close();
    } finally {
      await s.stop();
    }
  });
});

describe('network faults', () => {
  test('a broker cut off from one replica only: gone there, kept on the other; CheckReplicas names the topic', async () => {
    const opts = { keepaliveTimeMs: 300, keepaliveTimeoutMs: 300, streamGraceMs: 100 };
    const a = await startServer(opts);
    const b = await startServer(opts);
    const proxy = await new FaultProxy({ host: '127.0.0.1', port: b.port }).start();
    try {
      await broker(a.address, 'split', ['split-t']);
      await broker(proxy.address, 'split', ['split-t']);
      const [va, vb] = await Promise.all([call(a.routes, 'getRoute', { topic: 'split-t' }), call(b.routes, 'getRoute', { topic: 'split-t' })]);
      assert.equal(va.route!.version, vb.route!.version, 'the replicas agree');
      assert.equal((await call(a.admin, 'checkReplicas', { nameservers: [b.address], topics: [] })).consistent, true);

      const goneOnB = removed(b, 'split-t');
      proxy.pause(); // the cable to replica b is cut; the broker process and replica a are fine
      await goneOnB;
      assert.ok((await call(a.routes, 'getRoute', { topic: 'split-t' })).route, 'replica a still routes to the broker');
      const check = await call(a.admin, 'checkReplicas', { nameservers: [b.address], topics: [] });
      assert.equal(check.consistent, false);
      assert.deepEqual(check.divergentTopics.map((d) => [d.topic, d.versions.map((v) => v.version === '')]), [['split-t', [false, true]]]);
    } finally {
      await proxy.close();
      await a.stop();
      await b.stop();
    }
  });
});
