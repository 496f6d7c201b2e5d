/**
 * A NameServer in its own process (test/helpers/memory-child.ts), so the memory a test measures is the
 * server's alone: `mem()` asks it for its memory after a full garbage collection.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { once } from 'node:events';
import type { Config } from '../../src/server/config';

/** The server's memory and stream counts, after a full GC. */
export interface MemorySample {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  streams: number;
  watchers: number;
  subscriptions: number;
}

/** A running measured server. */
export interface MeasuredServer {
  address: string;
  child: ChildProcess;
  mem(): Promise<MemorySample>;
  stop(): Promise<void>;
}

/** MiB, one decimal, for diagnostics. */
export const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/** Start a NameServer with these config overrides in a child process with `--expose-gc`. */
export async function spawnMeasuredServer(overrides: Partial<Config> = {}): Promise<MeasuredServer> {
  const child = fork(path.join(__dirname, 'memory-child.ts'), [], {
    execArgv: ['--expose-gc', '--import', 'tsx'],
    env: { ...process.env, NAMESERVER_TEST_CONFIG: JSON.stringify(overrides) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const [ready] = (await Promise.race([
    once(child, 'message'),
    once(child, 'exit').then(([code]) => {
      throw new Error(`measured server exited early with ${code}`);
    }),
  ])) as [{ type: string; port: number }];
  let queue = Promise.resolve<unknown>(undefined);
  const mem = () => {
    // One request at a time: answers carry no id.
    const p = queue.then(async () => {
      child.send({ type: 'mem' });
      const [m] = (await once(child, 'message')) as [MemorySample & { type: string }];
      return m;
    });
    queue = p.catch(() => undefined);
    return p;
  };
  return {
    address: `127.0.0.1:${ready.port}`,
    child,
    mem,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = once(child, 'exit');
      child.send({ type: 'stop' });
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(t);
    },
  };
}
