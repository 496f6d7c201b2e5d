/**
 * What an operator reads in the server's log while it runs (a real server process, its JSON lines on
 * stdout): brokers joining and leaving with the reason, a broker id conflict, the end of the warm-up,
 * and the audit line of every Admin write (method, targets, peer, token role, per-broker outcome),
 * from grpc and from the web console.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { CommandOutcome } from '../../generated/nameserver/v1/common';
import { FakeBroker } from '../fixtures/fake-broker';
import { report } from '../fixtures/reports';
import { call, connect, exited, rejectsWith, spawnServer, type Clients } from '../helpers/server';
import { status } from '@grpc/grpc-js';

type Line = Record<string, unknown> & { msg: string; level: number };

/** The server's log lines from now on, and a way to wait for one. */
class Log {
  readonly lines: Line[] = [];
  private waiters: Array<{ match: (l: Line) => boolean; resolve: (l: Line) => void }> = [];

  constructor(child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (text) => {
      let l: Line;
      try {
        l = JSON.parse(text) as Line;
      } catch {
        return;
      }
      this.lines.push(l);
      for (const w of [...this.waiters]) {
        if (w.match(l)) {
          this.waiters = this.waiters.filter((x) => x !== w);
          w.resolve(l);
        }
      }
    });
  }

  /** The first line (already logged or to come) that matches. */
  next(match: (l: Line) => boolean): Promise<Line> {
    const have = this.lines.find(match);
    if (have) return Promise.resolve(have);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }
}

const event = (name: string, extra: (l: Line) => boolean = () => true) => (l: Line) => l.event === name && extra(l);

describe('operations log', () => {
  let child: ChildProcess;
  let log: Log;
  let c: Clients;
  let httpPort = 0;
  before(async () => {
    const s = await spawnServer(['--warmup-ms', '1500', '--stream-grace-ms', '100', '--http-listen', '127.0.0.1:0', '--console']);
    child = s.child;
    httpPort = s.httpPort!;
    log = new Log(child);
    c = connect(s.address);
  });
  after(async () => {
    c.close();
    child.kill('SIGTERM');
    await exited(child);
  });

  test('the end of the warm-up', async () => {
    const l = await log.next(event('warmup.done'));
    assert.equal(l.msg, 'warm-up over: serving');
    assert.equal(typeof l.brokers, 'number');
  });

  test('a broker joins and leaves, and the log says why (unregistered, stream ended, lease expired)', async () => {
    await call(c.brokers, 'registerBroker', report('log-unary', 0, ['lt']));
    const joined = await log.next(event('broker.joined', (l) => l.broker === 'c1/log-unary/0'));
    assert.equal(joined.session, 'lease');
    assert.deepEqual(joined.addresses, report('log-unary', 0, []).addresses);
    await call(c.brokers, 'unregisterBroker', { cluster: 'c1', brokerName: 'log-unary', brokerId: 0, epoch: '' });
    assert.match((await log.next(event('broker.left', (l) => l.broker === 'c1/log-unary/0'))).reason as string, /unregister/);

    const stream = new FakeBroker(c.address, 'log-stream', ['ls']);
    await stream.connect();
    await log.next(event('broker.joined', (l) => l.broker === 'c1/log-stream/0' && l.session === 'stream'));
    stream.close();
    assert.match((await log.next(event('broker.left', (l) => l.broker === 'c1/log-stream/0'))).reason as string, /stream/);

    await call(c.brokers, 'registerBroker', { ...report('log-lease', 0, ['ll']), leaseTtlMs: 1000 });
    assert.match((await log.next(event('broker.left', (l) => l.broker === 'c1/log-lease/0'))).reason as string, /lease/);
  });

  test('two processes claiming one broker id: the refusal is logged as a warning', async () => {
    const first = report('log-dup', 0, ['ld'], { addresses: ['10.1.1.1:10911'] });
    const stream = new FakeBroker(c.address, 'log-dup', ['ld']);
    await stream.connect();
    try {
      await rejectsWith(call(c.brokers, 'registerBroker', { ...first, dataVersion: { epoch: 'other-boot', counter: 1 } }), status.ALREADY_EXISTS);
      const l = await log.next(event('broker.conflict'));
      assert.equal(l.level, 40);
      assert.match(l.details as string, /log-dup/);
    } finally {
      stream.close();
    }
  });

  test('every Admin write leaves an audit line: method, targets, peer, token role, per-broker outcome', async () => {
    const b = new FakeBroker(c.address, 'log-admin', []);
    await b.connect();
    try {
      const res = await call(c.admin, 'createTopic', { topic: { name: 'audited', readQueueNums: 2, writeQueueNums: 2, permission: 0, messageType: 0, attributes: {} }, cluster: '', brokerNames: ['log-admin'] });
      assert.equal(res.results[0]!.outcome, CommandOutcome.COMMAND_OUTCOME_OK);
      const l = await log.next(event('admin.write', (x) => x.method === 'CreateTopic'));
      assert.equal(l.msg, 'admin write applied');
      assert.deepEqual(l.targets, ['c1/log-admin/0']);
      assert.match(l.peer as string, /^127\.0\.0\.1:\d+$/);
      assert.equal(l.role, 'none');
      assert.deepEqual(l.results, ['c1/log-admin/0 OK']);

      // The same write from the web console: the log names the console and its HTTP client.
      const http = await fetch(`http://127.0.0.1:${httpPort}/api/Admin/DeleteTopic`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ topic: 'audited', brokerNames: ['log-admin'] }),
      });
      assert.equal(http.status, 200, await http.text());
      const viaConsole = await log.next(event('admin.write', (x) => x.method === 'DeleteTopic'));
      assert.equal(viaConsole.role, 'console');
      assert.match(viaConsole.peer as string, /^console (::ffff:)?127\.0\.0\.1:\d+$/);
      assert.deepEqual(viaConsole.results, ['c1/log-admin/0 OK']);
    } finally {
      b.close();
    }
  });
});
