/**
 * Console operations through simulated broker processes (npm run broker): CreateTopic on a cluster of
 * two brokers, pushed to a watcher, surviving restarts of both brokers (they re-register it from their
 * files) and of the NameServer; a create aimed at a broker that is down names it; drain and restore.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { CommandOutcome, Permission } from '../../generated/nameserver/v1/common';
import { call, connect, exited, rejectsWith, spawnServer, type Clients } from '../helpers/server';
import { WatchProbe } from '../helpers/watch';
import { topic } from '../fixtures/reports';

const root = path.resolve(__dirname, '..', '..');
const children: ChildProcess[] = [];
after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all(children.map((c) => exited(c)));
});

/** Start a simulated broker; resolves once it logged "broker registered". */
async function simBroker(nameserver: string, name: string, dataDir: string, port: number): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(root, 'src/broker-sim/main.ts'), '--nameservers', nameserver, '--cluster', 'c1', '--broker-name', name, '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`, '--topics', `${name}-own`],
    { cwd: root, env: { ...process.env, BROKER_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    let buf = '';
    child.once('exit', (code) => reject(new Error(`broker ${name} exited with ${code}: ${buf}`)));
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('"msg":"broker registered"')) resolve();
    });
  });
  return child;
}

/** Resolve when GetRoute of `t` satisfies `ok`, re-checked after every push of a watch. */
async function routeSatisfies(c: Clients, t: string, ok: (brokers: string[]) => boolean): Promise<void> {
  const w = new WatchProbe(c.routes);
  w.subscribe(t);
  await w.until((p) => {
    const e = p.latest(t);
    return e?.route !== undefined && ok(e.route.brokers.map((b) => b.brokerName));
  });
  w.close();
}

test('CreateTopic through two simulated brokers survives broker and NameServer restarts; a down broker is named; drain and restore', { timeout: 90_000 }, async () => {
  const ns = await spawnServer(['--warmup-ms', '0', '--stream-grace-ms', '300']);
  const nsPort = ns.port;
  let c = connect(ns.address);
  const dirs = [mkdtempSync(path.join(tmpdir(), 'sim-a-')), mkdtempSync(path.join(tmpdir(), 'sim-b-'))];
  let a = await simBroker(ns.address, 'sim-a', dirs[0]!, 20911);
  let b = await simBroker(ns.address, 'sim-b', dirs[1]!, 20912);

  const watch = new WatchProbe(c.routes);
  watch.subscribe('payments');
  await watch.synced();
  const created = await call(c.admin, 'createTopic', { topic: topic('payments', { readQueueNums: 6, writeQueueNums: 6 }), cluster: 'c1', brokerNames: [] });
  assert.deepEqual(created.results.map((r) => [r.brokerName, r.outcome]), [
    ['sim-a', CommandOutcome.COMMAND_OUTCOME_OK],
    ['sim-b', CommandOutcome.COMMAND_OUTCOME_OK],
  ]);
  const { route } = await call(c.routes, 'getRoute', { topic: 'payments' });
  assert.deepEqual(route!.brokers.map((x) => [x.brokerName, x.writeQueueNums]), [['sim-a', 6], ['sim-b', 6]]);
  await watch.until((p) => p.latest('payments')?.route?.version === route!.version);
  watch.close();

  // A broker that is down is named in the failure; the other applies.
  b.kill('SIGKILL');
  await exited(b);
  await routeSatisfies(c, 'payments', (names) => names.join() === 'sim-a');
  const down = await rejectsWith(call(c.admin, 'createTopic', { topic: topic('refunds'), cluster: '', brokerNames: ['sim-a', 'sim-b'] }), status.UNAVAILABLE);
  assert.match(down.details, /sim-b\/0 NO_SESSION \(replica set sim-b is not registered/);

  // Both brokers restart from their data directories: the topics come back from their files.
  a.kill('SIGTERM');
  await exited(a);
  a = await simBroker(ns.address, 'sim-a', dirs[0]!, 20911);
  b = await simBroker(ns.address, 'sim-b', dirs[1]!, 20912);
  await routeSatisfies(c, 'payments', (names) => names.join() === 'sim-a,sim-b');
  assert.deepEqual((await call(c.routes, 'getRoute', { topic: 'refunds' })).route!.brokers.map((x) => x.brokerName), ['sim-a']);

  // The NameServer restarts (same address): the brokers reconnect and report everything again.
  c.close();
  ns.child.kill('SIGTERM');
  assert.equal((await exited(ns.child)).code, 0);
  const ns2 = await spawnServer(['--listen', `127.0.0.1:${nsPort}`, '--warmup-ms', '0', '--stream-grace-ms', '300']);
  children.push(ns2.child);
  c = connect(ns2.address);
  await routeSatisfies(c, 'payments', (names) => names.join() === 'sim-a,sim-b');

  // Drain sim-a: write permission leaves the route; restore brings it back.
  await call(c.admin, 'setBrokerPermission', { cluster: 'c1', brokerName: 'sim-a', permission: Permission.PERMISSION_READ });
  let perms = (await call(c.routes, 'getRoute', { topic: 'payments' })).route!.brokers.map((x) => x.permission);
  assert.deepEqual(perms, [Permission.PERMISSION_READ, Permission.PERMISSION_READ_WRITE]);
  await call(c.admin, 'setBrokerPermission', { cluster: 'c1', brokerName: 'sim-a', permission: Permission.PERMISSION_READ_WRITE });
  perms = (await call(c.routes, 'getRoute', { topic: 'payments' })).route!.brokers.map((x) => x.permission);
  assert.deepEqual(perms, [Permission.PERMISSION_READ_WRITE, Permission.PERMISSION_READ_WRITE]);
  c.close();
});
