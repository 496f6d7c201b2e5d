/**
 * The real RocketMQ NameServer for the comparisons: `org.apache.rocketmq.namesrv.NamesrvStartup` from
 * rocketmq-namesrv 5.5.0 (Maven Central, pinned in test/rocketmq/pom.xml, installed into
 * .tools/rocketmq/lib by `bash scripts/install-test-tools.sh`), Java 17, in its own process.
 *
 * JVM: the G1 flags of RocketMQ's own bin/runserver.sh (G1, 16 MiB regions, reserve 25 %, IHOP 30 %,
 * SoftRefLRUPolicyMSPerMB=0, -OmitStackTraceInFastThrow) with a stated heap, -Xms = -Xmx =
 * BENCH_RMQ_HEAP_MB (1024 by default; runserver.sh uses 4 GiB on big machines). Config (`-c` file):
 * listenPort and bindAddress=127.0.0.1 (its default binds 0.0.0.0:9876); everything else is
 * NamesrvConfig's and NettyServerConfig's defaults (8 client-request threads, 16 default threads,
 * 3 selector threads, 8 worker threads). Home, logs and kvConfig go to a fresh temp dir.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { envInt, freePort, ROOT, stopChild, toolVersion, writeResult, type Machine } from './common';

const run = promisify(execFile);

/** Where the install script puts the jars. */
export const RMQ_LIB = path.join(ROOT, '.tools', 'rocketmq', 'lib');
/** The heap the RocketMQ NameServer gets (-Xms = -Xmx), MiB. */
export const RMQ_HEAP_MB = envInt('BENCH_RMQ_HEAP_MB', 1024);

/** Thrown when the jars are missing: the part says so and how to get them. */
export class RocketmqMissing extends Error {}

/** The classpath of the RocketMQ jars; throws RocketmqMissing naming the install command. */
export function rocketmqClasspath(): string {
  if (!existsSync(path.join(RMQ_LIB, 'rocketmq-namesrv-5.5.0.jar')) || !existsSync(path.join(RMQ_LIB, 'rocketmq-broker-5.5.0.jar'))) {
    throw new RocketmqMissing(
      `RocketMQ 5.5.0 jars (rocketmq-namesrv, rocketmq-broker, rocketmq-client) are not in ${path.relative(ROOT, RMQ_LIB)}: run \`bash scripts/install-test-tools.sh\` (needs Maven Central and Java 17), then this part again`,
    );
  }
  return `${RMQ_LIB}/*`;
}

/** "rocketmq-namesrv 5.5.0, OpenJDK 17.0.x" for the results header. */
export function rocketmqVersionLine(): string {
  const jar = readdirSync(RMQ_LIB).find((f) => /^rocketmq-namesrv-.*\.jar$/.test(f)) ?? 'rocketmq-namesrv ?';
  return `${jar.replace(/\.jar$/, '').replace(/-(\d)/, ' $1')} (NamesrvStartup, -Xms${RMQ_HEAP_MB}m -Xmx${RMQ_HEAP_MB}m, G1 as in bin/runserver.sh); ${toolVersion('java', ['-version'])}`;
}

/** JVM flags of the NameServer (see the module comment). */
export function namesrvJvmFlags(home: string, heapMb = RMQ_HEAP_MB): string[] {
  return [
    '-server',
    `-Xms${heapMb}m`,
    `-Xmx${heapMb}m`,
    '-XX:+UseG1GC',
    '-XX:G1HeapRegionSize=16m',
    '-XX:G1ReservePercent=25',
    '-XX:InitiatingHeapOccupancyPercent=30',
    '-XX:SoftRefLRUPolicyMSPerMB=0',
    '-XX:-OmitStackTraceInFastThrow',
    `-Duser.home=${home}`,
    `-Drocketmq.home.dir=${home}`,
    '-Dlogback.statusListenerClass=org.apache.rocketmq.logging.ch.qos.logback.core.status.NopStatusListener',
  ];
}

/** A running RocketMQ NameServer. */
export interface Namesrv {
  child: ChildProcess;
  pid: number;
  port: number;
  address: string;
  home: string;
  stop(): Promise<void>;
}

/** Start NamesrvStartup on 127.0.0.1 (a free port); resolves once it printed "boot success". */
export async function startNamesrv(heapMb = RMQ_HEAP_MB): Promise<Namesrv> {
  const cp = rocketmqClasspath();
  const home = mkdtempSync(path.join(tmpdir(), 'bench-namesrv-'));
  const port = await freePort();
  const conf = path.join(home, 'namesrv.conf');
  writeFileSync(conf, `listenPort=${port}\nbindAddress=127.0.0.1\nkvConfigPath=${path.join(home, 'kvConfig.json')}\n`);
  const child = spawn('java', [...namesrvJvmFlags(home, heapMb), '-cp', cp, 'org.apache.rocketmq.namesrv.NamesrvStartup', '-c', conf], {
    cwd: home,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`RocketMQ NameServer did not boot within 60 s: ${out.slice(-2000)}`)), 60_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.includes('boot success')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`RocketMQ NameServer exited with ${code} before booting: ${out.slice(-2000)}`));
    });
  });
  child.stdout!.removeAllListeners('data');
  child.stderr!.removeAllListeners('data');
  child.stdout!.resume();
  child.stderr!.resume();
  if (!out.includes(`127.0.0.1:${port}`)) throw new Error(`RocketMQ NameServer is not on 127.0.0.1:${port}: ${out.slice(-500)}`);
  return { child, pid: child.pid!, port, address: `127.0.0.1:${port}`, home, stop: () => stopChild(child, 'SIGTERM', 20_000) };
}

/**
 * Java heap in use after a full GC (`jcmd PID GC.run`, then `jcmd PID GC.heap_info`: the "used"
 * figure of the garbage-first heap), in bytes.
 */
export async function jvmHeapUsedAfterGc(pid: number): Promise<number> {
  await run('jcmd', [String(pid), 'GC.run'], { timeout: 120_000 });
  const { stdout } = await run('jcmd', [String(pid), 'GC.heap_info'], { encoding: 'utf8', timeout: 60_000 });
  const m = /garbage-first heap\s+total\s+(\d+)K,\s+used\s+(\d+)K/.exec(stdout) ?? /total\s+(\d+)K,\s+used\s+(\d+)K/.exec(stdout);
  if (!m) throw new Error(`cannot read jcmd GC.heap_info: ${stdout.slice(0, 500)}`);
  return Number(m[2]) * 1024;
}

/**
 * Run a RocketMQ part: when the jars are missing, its report says so (and how to install them) instead
 * of numbers, and the part exits non-zero.
 */
export async function requireRocketmqOrReport(part: string, title: string, m: Machine): Promise<void> {
  try {
    rocketmqClasspath();
  } catch (err) {
    if (!(err instanceof RocketmqMissing)) throw err;
    writeResult(part, title, `**Not run.** ${err.message}.`, m, [], [{ check: 'RocketMQ comparison', value: 'not run', target: '—', verdict: `**not run**: RocketMQ jars missing (run \`bash scripts/install-test-tools.sh\`)` }]);
    throw err;
  }
}
