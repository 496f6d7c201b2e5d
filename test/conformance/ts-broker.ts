/**
 * A TypeScript broker agent in a process of its own, for conformance steps that SIGKILL a broker
 * (`start_broker` with `"process": true`). Configuration: one JSON argument (BrokerProcessConfig).
 * Prints one JSON line per event: `{"event":"registered","address":...}` for every NameServer that
 * accepted the registration. It has no command handler: killed brokers only register.
 */
import { BrokerAgent } from '../../src/broker-agent';
import type { BrokerProcessConfig } from './runner';

const config = JSON.parse(process.argv[2] ?? '{}') as BrokerProcessConfig;
const agent = new BrokerAgent({ ...config, backoff: { initialMs: 50, maxMs: 1_000 } });
agent.on('registered', (address) => process.stdout.write(JSON.stringify({ event: 'registered', address }) + '\n'));
agent.on('warning', (err) => process.stderr.write(`ts-broker: ${err.message}\n`));
void agent.start();
// SIGTERM (a cleanup, not a kill) leaves gracefully.
process.on('SIGTERM', () => void agent.stop().then(() => process.exit(0)));
