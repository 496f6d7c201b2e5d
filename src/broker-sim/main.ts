/**
 * `npm run broker -- --nameservers ADDR[,ADDR...] --cluster NAME --broker-name NAME [--broker-id N]
 * --data-dir DIR [--listen HOST:PORT]`: a simulated broker built on the broker agent SDK. It keeps
 * its topics, groups and permission in DIR/broker.json (seeded from --topics on first start), applies
 * the NameServers' commands to that file durably before answering, reports generated positions and
 * client instances, and leaves gracefully (unregister) on SIGINT/SIGTERM. It serves no messages:
 * `--listen` is only the address it advertises in routes.
 *
 * Logs are JSON lines on stdout; "broker registered" (with `nameserver`) is logged each time a
 * NameServer accepts the registration, which scripts and tests wait for.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { CommandOutcome } from '../../generated/nameserver/v1/common';
import { BrokerAgent } from '../broker-agent';
import type { CommandHandler, CommandReply } from '../broker-agent/types';
import { SERVER_VERSION } from '../shared/version';
import { ConfigStore } from './config-store';
import { log } from './log';
import { TrafficModel } from './traffic';
import { parseHostPort } from '../shared/address';
import { clientCredentials } from '../shared/tls';

/** Parsed command line. */
export interface SimOptions {
  nameservers: string;
  cluster: string;
  brokerName: string;
  brokerId: number;
  dataDir: string;
  listen: string;
  topics: string[];
  reportIntervalMs: number;
  resolveIntervalMs: number;
  zone: string;
  token?: string;
  tlsCa?: string;
}

function wholeNumber(flag: string) {
  return (v: string): number => {
    if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`${flag} must be a whole number ≥ 0, got ${JSON.stringify(v)}`);
    return Number(v);
  };
}

function hostPort(v: string): string {
  try {
    parseHostPort(v);
  } catch (err) {
    throw new InvalidArgumentError(`must be host:port (${(err as Error).message}), got ${JSON.stringify(v)}`);
  }
  return v;
}

function list(v: string): string[] {
  return v.split(',').map((s) => s.trim()).filter(Boolean);
}

/** Parse argv; throws CommanderError after printing help or the error. */
export function parseSimOptions(argv: string[]): SimOptions {
  const program = new Command('broker')
    .description('Simulated broker: registers with NameServers through the broker agent SDK, keeps its configuration in DATA_DIR/broker.json')
    .version(SERVER_VERSION)
    .exitOverride()
    .showHelpAfterError()
    .requiredOption('--nameservers <host:port,...>', 'NameServer addresses (host names expand to all their addresses)')
    .requiredOption('--cluster <name>', 'cluster name')
    .requiredOption('--broker-name <name>', 'replica set name')
    .option('--broker-id <n>', 'replica id (0 = leader)', wholeNumber('--broker-id'), 0)
    .requiredOption('--data-dir <dir>', 'directory of broker.json (created if missing)')
    .option('--listen <host:port>', 'address advertised to clients in routes', hostPort, '127.0.0.1:10911')
    .option('--topics <a,b,...>', 'topics created on first start (when broker.json does not exist yet)', list, [] as string[])
    .option('--report-interval-ms <ms>', 'interval of positions and instances reports', wholeNumber('--report-interval-ms'), 5_000)
    .option('--resolve-interval-ms <ms>', 'how often NameServer host names are resolved again (new replicas get a session)', wholeNumber('--resolve-interval-ms'), 30_000)
    .option('--zone <zone>', 'availability zone', '')
    .addOption(new Option('--token <token>', 'bearer token for BrokerRegistry').env('BROKER_TOKEN'))
    .addOption(new Option('--tls-ca <file>', 'connect with TLS, trusting this PEM CA bundle').env('BROKER_TLS_CA'));
  program.parse(argv);
  return program.opts<SimOptions>();
}

/** Log every command's outcome: the simulated broker's audit trail. */
function logged(store: ConfigStore): CommandHandler {
  const wrap =
    <A>(name: string, f: (arg: A) => Promise<CommandReply>) =>
    async (arg: A): Promise<CommandReply> => {
      const reply = await f(arg);
      const fields = { command: name, outcome: CommandOutcome[reply.outcome], message: reply.message };
      if (reply.outcome === CommandOutcome.COMMAND_OUTCOME_FAILED) log.error(fields, 'command failed');
      else log.info(fields, 'command applied');
      return reply;
    };
  return {
    createTopic: wrap('createTopic', (t) => store.createTopic(t)),
    updateTopic: wrap('updateTopic', (t) => store.updateTopic(t)),
    deleteTopic: wrap('deleteTopic', (n) => store.deleteTopic(n)),
    createGroup: wrap('createGroup', (g) => store.createGroup(g)),
    updateGroup: wrap('updateGroup', (g) => store.updateGroup(g)),
    deleteGroup: wrap('deleteGroup', (n) => store.deleteGroup(n)),
    setPermission: wrap('setPermission', (p) => store.setPermission(p)),
  };
}

async function main(): Promise<void> {
  let o: SimOptions;
  try {
    o = parseSimOptions(process.argv);
  } catch (err) {
    process.exit(err instanceof CommanderError ? err.exitCode : 1); // commander printed the message or help
  }
  let store: ConfigStore;
  try {
    store = await ConfigStore.open(o.dataDir, { seedTopics: o.topics });
  } catch (err) {
    log.fatal({ err, dataDir: o.dataDir }, 'cannot load the broker configuration');
    process.exit(1);
  }
  const traffic = new TrafficModel(store, { brokerName: o.brokerName });
  const agent = new BrokerAgent({
    nameservers: o.nameservers,
    cluster: o.cluster,
    brokerName: o.brokerName,
    brokerId: o.brokerId,
    addresses: [o.listen],
    zone: o.zone,
    softwareVersion: `sim-${SERVER_VERSION}`,
    topics: store.topics(),
    groups: store.groups(),
    permission: store.permission,
    handler: logged(store),
    positions: () => traffic.positions(),
    instances: () => traffic.instances(),
    reportIntervalMs: o.reportIntervalMs,
    resolveIntervalMs: o.resolveIntervalMs,
    token: o.token,
    credentials: o.tlsCa ? clientCredentials({ ca: o.tlsCa }) : undefined,
  });
  const broker = `${o.cluster}/${o.brokerName}/${o.brokerId}`;
  agent.on('registered', (nameserver, info) =>
    log.info({ nameserver, broker, ...info, topics: agent.topics().length, epoch: agent.epoch }, 'broker registered'),
  );
  agent.on('disconnected', (nameserver, err) => log.warn({ nameserver, broker, err: err.message }, 'session lost; reconnecting'));
  agent.on('resync', (nameserver, reason) => log.info({ nameserver, broker, reason }, 'NameServer asked for a full registration'));
  agent.on('rejected', (nameserver, error) => log.error({ nameserver, broker, error }, 'registration refused'));
  agent.on('command', (cmd) => log.info({ commandId: cmd.commandId, action: cmd.action?.$case }, 'command received'));
  agent.on('warning', (err) => log.warn({ err: err.message }, 'agent warning'));

  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, broker }, 'signal received; unregistering');
    agent.stop().then(
      () => {
        log.info({ broker }, 'broker stopped');
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  await agent.start();
  log.info(
    { broker, nameservers: agent.nameservers(), listen: o.listen, dataDir: o.dataDir, topics: agent.topics().length, groups: agent.groups().length },
    'broker started',
  );
}

if (require.main === module) void main();
