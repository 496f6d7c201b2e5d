/**
 * The real RocketMQ for tests: a broker process (BrokerStartup, small heap and mapped files, everything
 * under a temp dir, listening on loopback only), mqadmin, and a Java producer/consumer compiled at test
 * time, all from the jars scripts/install-test-tools.sh puts in .tools/rocketmq/lib (pinned in
 * test/rocketmq/pom.xml). Also a minimal remoting client for assertions on the raw wire.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './tools';
import { decodeFrame, encodeFrame, FrameSplitter, isResponse, SerializeType, type RemotingCommand } from '../../src/network/remoting/frame';

const LIB = path.join(ROOT, '.tools', 'rocketmq', 'lib');
const run = promisify(execFile);

/** The classpath of the RocketMQ jars, or an error naming the install command. */
export function rocketmqClasspath(): string {
  if (!existsSync(path.join(LIB, 'rocketmq-broker-5.5.0.jar'))) {
    throw new Error('RocketMQ jars are not installed in .tools/rocketmq/lib: run bash scripts/install-test-tools.sh (npm test runs it first)');
  }
  return `${LIB}/*`;
}

/** JVM flags every RocketMQ process here gets: quiet logback, logs under `home`, Java 17 module access. */
function jvm(home: string, heapMb: number): string[] {
  return [
    `-Xms${heapMb}m`,
    `-Xmx${heapMb}m`,
    '-XX:+UseSerialGC',
    '-XX:TieredStopAtLevel=1', // short-lived test JVMs: start fast rather than optimise
    '--add-opens', 'java.base/java.nio=ALL-UNNAMED',
    '--add-opens', 'java.base/sun.nio.ch=ALL-UNNAMED',
    '--add-opens', 'java.base/java.lang=ALL-UNNAMED',
    `-Duser.home=${home}`,
    `-Drocketmq.home.dir=${home}`,
    '-Dlogback.statusListenerClass=org.apache.rocketmq.logging.ch.qos.logback.core.status.NopStatusListener',
  ];
}

/** Whether nothing listens on 127.0.0.1:port. */
function free(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen({ host: '127.0.0.1', port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

/** A broker port P with P-2 (its fast channel) and P+1 (HA) free too. */
async function brokerPort(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const p = 20_000 + Math.floor(Math.random() * 20_000);
    if ((await free(p - 2)) && (await free(p)) && (await free(p + 1))) return p;
  }
  throw new Error('no free loopback port triple for a broker');
}

/** A running RocketMQ broker. */
export interface RocketmqBroker {
  child: ChildProcess;
  address: string;
  dir: string;
  /** SIGKILL, resolved once the process is gone. */
  kill9(): Promise<void>;
  /** Graceful stop (the broker unregisters), resolved once the process is gone. */
  stop(): Promise<void>;
}

/** Start a broker that registers with `namesrv`; resolves once it printed "boot success". */
export async function startBroker(opts: { namesrv: string; cluster: string; brokerName: string; brokerId?: number; extra?: Record<string, string> }): Promise<RocketmqBroker> {
  const cp = rocketmqClasspath();
  const dir = mkdtempSync(path.join(tmpdir(), 'rmq-broker-'));
  const port = await brokerPort();
  const conf: Record<string, string> = {
    brokerClusterName: opts.cluster,
    brokerName: opts.brokerName,
    brokerId: String(opts.brokerId ?? 0),
    brokerIP1: '127.0.0.1',
    brokerIP2: '127.0.0.1',
    listenPort: String(port),
    namesrvAddr: opts.namesrv,
    storePathRootDir: path.join(dir, 'store'),
    storePathCommitLog: path.join(dir, 'store', 'commitlog'),
    mappedFileSizeCommitLog: String(16 * 1024 * 1024),
    mappedFileSizeConsumeQueue: String(6000 * 20),
    // The timer wheel stays on (deleting a topic needs it in 5.5.0) but small: one hour, 4 MiB log files.
    timerMaxDelaySec: '3600',
    mappedFileSizeTimerLog: String(4 * 1024 * 1024),
    autoCreateTopicEnable: 'false',
    ...opts.extra,
  };
  writeFileSync(path.join(dir, 'broker.conf'), Object.entries(conf).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
  const child = spawn('java', [...jvm(dir, 256), '-cp', cp, 'org.apache.rocketmq.broker.BrokerStartup', '-c', path.join(dir, 'broker.conf')], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.includes('boot success')) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`broker exited with ${code} before booting: ${out.slice(-2000)}`)));
  });
  return {
    child,
    address: `127.0.0.1:${port}`,
    dir,
    kill9: async () => {
      child.kill('SIGKILL');
      await gone;
    },
    stop: async () => {
      child.kill('SIGTERM');
      await gone;
    },
  };
}

/** Run an mqadmin command against `namesrv`; resolves with its stdout (rejects on a non-zero exit). */
export async function mqadmin(namesrv: string, args: string[], jvmFlags: string[] = []): Promise<string> {
  const home = mkdtempSync(path.join(tmpdir(), 'mqadmin-'));
  const { stdout } = await run('java', [...jvm(home, 96), ...jvmFlags, '-cp', rocketmqClasspath(), 'org.apache.rocketmq.tools.command.MQAdminStartup', ...args, '-n', namesrv], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  return stdout;
}

/** Compile test/rocketmq/ProduceConsume.java into a temp dir; resolves with the classpath to run it. */
export async function compileJavaClient(): Promise<string> {
  const out = mkdtempSync(path.join(tmpdir(), 'rmq-client-'));
  await run('javac', ['-d', out, '-cp', rocketmqClasspath(), path.join(ROOT, 'test', 'rocketmq', 'ProduceConsume.java')]);
  return `${rocketmqClasspath()}${path.delimiter}${out}`;
}

/** Run the Java producer/consumer; resolves with its stdout (rejects unless every message came back). */
export async function produceConsume(classpath: string, namesrv: string, topic: string, count: number): Promise<string> {
  const home = mkdtempSync(path.join(tmpdir(), 'rmq-client-home-'));
  const { stdout } = await run('java', [...jvm(home, 128), '-cp', classpath, 'ProduceConsume', namesrv, topic, String(count)], { encoding: 'utf8', timeout: 180_000 });
  return stdout;
}

/** A minimal remoting client: one connection, requests matched to responses by opaque. */
export class RemotingTestClient {
  readonly socket: net.Socket;
  private readonly waiting = new Map<number, (c: RemotingCommand) => void>();
  private opaque = 1;
  readonly closed: Promise<void>;

  constructor(port: number) {
    this.socket = net.connect({ host: '127.0.0.1', port });
    const splitter = new FrameSplitter(64 * 1024 * 1024);
    this.socket.on('data', (d: Buffer) => {
      for (const f of splitter.push(d)) {
        const cmd = decodeFrame(f);
        if (isResponse(cmd)) this.waiting.get(cmd.opaque)?.(cmd);
      }
    });
    this.socket.on('error', () => {});
    this.closed = new Promise((resolve) => this.socket.once('close', () => resolve()));
  }

  /** Send a request and wait for its response. */
  request(code: number, extFields: Record<string, string> = {}, opts: { version?: number; body?: Buffer; serializeType?: SerializeType; flag?: number } = {}): Promise<RemotingCommand> {
    const opaque = this.opaque++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no response to code ${code}`)), 30_000);
      this.waiting.set(opaque, (c) => {
        clearTimeout(timer);
        this.waiting.delete(opaque);
        resolve(c);
      });
      this.socket.write(encodeFrame({ code, language: 'JAVA', version: opts.version ?? 513, opaque, flag: opts.flag ?? 0, extFields, body: opts.body, serializeType: opts.serializeType ?? SerializeType.JSON }));
    });
  }

  /** Write raw bytes. */
  raw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  close(): void {
    this.socket.destroy();
  }
}
