/**
 * Part 4, failure timing.
 *  (a) A Connect broker (test/fixtures/connect-broker.ts, its own process) is SIGKILLed; time until an
 *      SDK client watching its topic sees the route removed. NameServer with default liveness settings
 *      (stream grace 2 s, keep-alive 10 s / 5 s); only warm-up is 0 (it does not affect pushes of a
 *      route the replica has seen). Target ≤ 3 s.
 *  (b) 3 NameServer replicas with the same brokers registered (unary, identical reports); the SDK
 *      client (src/client) follows 100 topics; the replica it follows is SIGKILLed; time until it
 *      follows another (its `connected` event: the new replica's first progress message, which comes
 *      after the re-subscription with held versions is processed), and route events/bytes received
 *      for the unchanged topics meanwhile (client.stats; target 0 bytes). Each round kills twice
 *      (3 → 2 → 1 replicas).
 */
import { once } from 'node:events';
import { NameServerClient, type RouteChange } from '../../src/client';
import { envInt, fmt, machine, median, note, runMain, sleep, spawnNameServer, spawnTs, stopChild, table, verdict, waitForLine, wallMs, writeResult, type NsProcess } from '../lib/common';
import { brokerClient, clusterReports, registerAll } from '../lib/cluster';

const KILLS = envInt('BENCH_BROKER_KILLS', 5);
const ROUNDS = envInt('BENCH_FAILOVER_ROUNDS', 3);
const TOPICS = Array.from({ length: 100 }, (_, i) => `fo-topic-${i}`);

function waitRoute(client: NameServerClient, pred: (c: RouteChange) => boolean, timeoutMs = 15_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('route', on);
      reject(new Error(`route condition not met within ${timeoutMs} ms`));
    }, timeoutMs);
    const on = (c: RouteChange) => {
      if (!pred(c)) return;
      clearTimeout(timer);
      client.off('route', on);
      resolve(wallMs());
    };
    client.on('route', on);
  });
}

async function brokerKill(): Promise<{ rows: (string | number)[][]; times: number[] }> {
  const ns = await spawnNameServer();
  const client = new NameServerClient({ nameservers: [ns.address] });
  const times: number[] = [];
  const rows: (string | number)[][] = [];
  try {
    for (let k = 0; k < KILLS; k++) {
      const topic = `victim-topic-${k}`;
      const broker = spawnTs('test/fixtures/connect-broker.ts', [ns.address, `victim-${k}`, '0', topic]);
      await waitForLine(broker, /registered/, 30_000, 'connect broker');
      broker.stdout!.resume();
      const seen = waitRoute(client, (c) => c.topic === topic && c.route !== undefined);
      const w = client.watch([topic], () => undefined);
      await seen;
      const gone = waitRoute(client, (c) => c.topic === topic && c.route === undefined);
      const exited = once(broker, 'exit');
      const t0 = wallMs();
      broker.kill('SIGKILL');
      const t1 = await gone;
      await exited;
      w.close();
      times.push(t1 - t0);
      rows.push([k + 1, fmt(t1 - t0)]);
      note(`broker kill ${k + 1}: removal seen after ${fmt(t1 - t0)} ms`);
    }
  } finally {
    client.close();
    await stopChild(ns.child);
  }
  return { rows, times };
}

interface FailoverSample {
  ms: number;
  events: number;
  bytes: number;
  from: string;
  to: string;
}

async function replicaRound(round: number): Promise<{ samples: FailoverSample[]; initialBytes: number; initialEvents: number }> {
  const replicas: NsProcess[] = [];
  for (let i = 0; i < 3; i++) replicas.push(await spawnNameServer());
  const client = new NameServerClient({ nameservers: replicas.map((r) => r.address) });
  const samples: FailoverSample[] = [];
  try {
    for (const r of replicas) {
      const b = brokerClient(r.address);
      await registerAll(b, clusterReports(8, 2, TOPICS));
      b.close();
    }
    const have = new Set<string>();
    const all = waitRoute(client, (c) => {
      if (c.route) have.add(c.topic);
      return have.size === TOPICS.length;
    });
    client.watch(TOPICS, () => undefined);
    await all;
    const initialBytes = client.stats.routeEventBytes;
    const initialEvents = client.stats.routeEvents;
    for (let kill = 0; kill < 2; kill++) {
      const from = client.address!;
      const victim = replicas.find((r) => r.address === from)!;
      const connected = new Promise<{ at: number; to: string }>((resolve) => {
        const on = (address: string) => {
          if (address === from) return;
          client.off('connected', on);
          resolve({ at: wallMs(), to: address });
        };
        client.on('connected', on);
      });
      const before = { ...client.stats };
      const exited = once(victim.child, 'exit');
      const t0 = wallMs();
      victim.child.kill('SIGKILL');
      const { at, to } = await Promise.race([
        connected,
        sleep(20_000).then(() => {
          throw new Error('client did not fail over within 20 s');
        }),
      ]);
      await sleep(300); // anything re-sent after the progress message would show now
      const s: FailoverSample = {
        ms: at - t0,
        events: client.stats.routeEvents - before.routeEvents,
        bytes: client.stats.routeEventBytes - before.routeEventBytes,
        from,
        to,
      };
      samples.push(s);
      note(`round ${round + 1}, kill ${kill + 1}: ${from} → ${to} in ${fmt(s.ms)} ms, ${s.events} route events / ${s.bytes} bytes re-sent`);
      await exited;
    }
    return { samples, initialBytes, initialEvents };
  } finally {
    client.close();
    for (const r of replicas) await stopChild(r.child);
  }
}

async function main(): Promise<void> {
  const m = machine();
  note(`(a) ${KILLS} SIGKILLed Connect brokers`);
  const a = await brokerKill();
  note(`(b) ${ROUNDS} rounds of 3 replicas, 2 kills each`);
  const samples: FailoverSample[] = [];
  let initial = { bytes: 0, events: 0 };
  for (let r = 0; r < ROUNDS; r++) {
    const res = await replicaRound(r);
    samples.push(...res.samples);
    initial = { bytes: res.initialBytes, events: res.initialEvents };
  }
  const aMed = median(a.times);
  const aMax = Math.max(...a.times);
  const bMed = median(samples.map((s) => s.ms));
  const bMax = Math.max(...samples.map((s) => s.ms));
  const bytes = samples.reduce((s, x) => s + x.bytes, 0);
  const events = samples.reduce((s, x) => s + x.events, 0);
  const body = [
    '### (a) Broker SIGKILL → watching client sees the removal',
    '',
    `NameServer defaults (stream grace 2,000 ms); ${KILLS} brokers, each the only holder of its topic, killed one after another; the SDK client watches the topic. Time = client's route-removed event − just before \`kill -9\`.`,
    '',
    table(['kill', 'ms to removal'], a.rows),
    '',
    table(['check', 'median', 'max', 'target', 'verdict'], [['broker gone in every subscriber view', `${fmt(aMed)} ms`, `${fmt(aMax)} ms`, '≤ 3,000 ms', verdict(aMax, 3000, false, 0, ' ms')]]),
    '',
    '### (b) NameServer replica SIGKILL → SDK client follows another',
    '',
    `3 replicas, 8 replica sets × 2 brokers registered on each, the client follows ${TOPICS.length} topics (initial subscription: ${initial.events} route events, ${fmt(initial.bytes)} bytes). ${ROUNDS} rounds × 2 kills of the replica the client follows.`,
    '',
    table(
      ['#', 'from → to', 'ms to following another', 'route events re-sent', 'route bytes re-sent'],
      samples.map((s, i) => [i + 1, `${s.from} → ${s.to}`, fmt(s.ms), s.events, s.bytes]),
    ),
    '',
    table(
      ['check', 'value', 'target', 'verdict'],
      [
        ['failover time (median / max)', `${fmt(bMed)} / ${fmt(bMax)} ms`, '—', `(client back-off starts at 100 ms, jittered)`],
        ['route bytes re-sent for unchanged topics (all failovers)', `${fmt(bytes)} bytes, ${events} events`, '0', bytes === 0 ? 'met' : `**missed** (${fmt(bytes)} bytes)`],
      ],
    ),
  ].join('\n');
  writeResult('failover', 'Failure timing', body, m, [], [
    { check: 'SIGKILLed broker → removal seen by a watching client (worst of ' + KILLS + ')', value: `${fmt(aMax)} ms (median ${fmt(aMed)})`, target: '≤ 3,000 ms', verdict: verdict(aMax, 3000, false, 0, ' ms') },
    { check: `replica SIGKILLed → SDK client follows another (${samples.length} failovers)`, value: `median ${fmt(bMed)} ms, max ${fmt(bMax)} ms`, target: '—', verdict: 'measured' },
    { check: 'route bytes re-sent for unchanged topics after failover', value: `${fmt(bytes)} bytes (${events} events)`, target: '0', verdict: bytes === 0 ? 'met' : `**missed** (${fmt(bytes)} bytes)` },
  ]);
}

runMain(main);
