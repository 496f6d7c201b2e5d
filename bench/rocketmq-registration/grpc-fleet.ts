/**
 * The rocketmq-registration fleet as this NameServer's own brokers: one process running BrokerAgents
 * (src/broker-agent, the real Connect session protocol), each on its own connection (a local subchannel
 * pool per agent, as separate broker processes would have), registering the same brokers and topic
 * layout as main.ts's REGISTER_BROKER fleet. After registering, an agent sends nothing but its session's
 * heartbeats and gRPC keep-alive pings (at the intervals given): it resends nothing unchanged.
 *
 * Usage: grpc-fleet.ts <port> <brokers> <topics per broker> <sets per topic> <heartbeat ms> <keep-alive ms>. Prints
 * {"registered":N,"ms":M} once every agent's registration was accepted; stops its agents on SIGTERM.
 */
import { BrokerAgent } from '../../src/broker-agent';
import { topicName } from './layout';

const [port, brokers, topicsPerBroker, setsPerTopic, heartbeatMs, keepaliveMs] = process.argv.slice(2).map(Number) as [number, number, number, number, number, number];
/** Agents registering at once while the fleet starts. */
const STARTING = 20;
let disconnects = 0;

async function main(): Promise<void> {
  const agents: BrokerAgent[] = [];
  const topicsOf = new Map<number, string[]>();
  const sets = Math.ceil(brokers / 2);
  const specs: { s: number; id: number; group: number }[] = [];
  for (let s = 0; s < sets; s++) for (let id = 0; id < 2 && specs.length < brokers; id++) specs.push({ s, id, group: Math.floor(s / setsPerTopic) });
  const t0 = performance.now();
  let next = 0;
  const startOne = async (): Promise<void> => {
    while (next < specs.length) {
      const { s, id, group } = specs[next++]!;
      let topics = topicsOf.get(group);
      if (!topics) topicsOf.set(group, (topics = Array.from({ length: topicsPerBroker }, (_, i) => topicName(group, i))));
      const agent = new BrokerAgent({
        nameservers: [`127.0.0.1:${port}`],
        cluster: 'fleet',
        brokerName: `broker-${String(s).padStart(3, '0')}`,
        brokerId: id,
        addresses: [`127.1.${s % 250}.${id + 1}:${10911 + Math.floor(s / 250)}`],
        topics,
        resolveIntervalMs: 0,
        heartbeatIntervalMs: heartbeatMs,
        channelOptions: { 'grpc.use_local_subchannel_pool': 1, 'grpc.keepalive_time_ms': keepaliveMs },
      });
      agent.on('warning', () => undefined);
      agent.on('disconnected', (address, err) => {
        if (disconnects++ < 3) process.stderr.write(`[grpc-fleet] ${address}: ${err.message}\n`);
      });
      agent.on('rejected', (_a, err) => process.stderr.write(`[grpc-fleet] rejected: ${err}\n`));
      agents.push(agent);
      const registered = new Promise<void>((resolve) => agent.once('registered', () => resolve()));
      await agent.start();
      await registered;
    }
  };
  await Promise.all(Array.from({ length: STARTING }, startOne));
  process.stdout.write(`${JSON.stringify({ registered: agents.length, ms: Math.round(performance.now() - t0) })}\n`);
  process.once('SIGTERM', () => {
    void Promise.all(agents.map((a) => a.stop())).finally(() => process.exit(0));
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`[grpc-fleet] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
