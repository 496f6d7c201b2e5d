/** Driver of a watch-fleet.ts process (see there). */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { ROOT, stopChild, TSX } from './common';
import type { FleetSpec } from './watch-fleet';

export interface FleetReady {
  streams: number;
  connections: number;
  ms: number;
}

export interface FleetSeq {
  seq: number;
  count: number;
  first: number;
  median: number;
  last: number;
}

export class Fleet {
  readonly child: ChildProcess;
  readonly ready: Promise<FleetReady>;
  private waiting: { seq: number; resolve: (m: FleetSeq) => void } | undefined;
  private failure: Error | undefined;
  private onFailure: ((e: Error) => void) | undefined;

  constructor(spec: FleetSpec, nodeFlags: string[] = []) {
    this.child = fork(path.join(ROOT, 'bench/lib/watch-fleet.ts'), [JSON.stringify(spec)], {
      cwd: ROOT,
      execArgv: [...nodeFlags, ...TSX],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.ready = new Promise<FleetReady>((resolve, reject) => {
      this.onFailure = reject;
      this.child.on('message', (m: { type: string } & FleetReady & FleetSeq & { message: string }) => {
        if (m.type === 'ready') resolve(m);
        else if (m.type === 'seq' && this.waiting?.seq === m.seq) {
          const w = this.waiting;
          this.waiting = undefined;
          w.resolve(m);
        } else if (m.type === 'error') this.fail(new Error(`watch fleet: ${m.message}`));
      });
      this.child.once('exit', (code, sig) => this.fail(new Error(`watch fleet exited (${code ?? sig})`)));
    });
    this.ready.catch(() => undefined);
  }

  private fail(e: Error): void {
    this.failure ??= e;
    this.onFailure?.(e);
  }

  /** Arm the receivers for `seq`; the promise resolves when every stream has seen it. */
  async expect(seq: number, timeoutMs = 60_000): Promise<() => Promise<FleetSeq>> {
    if (this.failure) throw this.failure;
    const got = new Promise<FleetSeq>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not every stream saw ${seq} within ${timeoutMs} ms`)), timeoutMs);
      this.waiting = {
        seq,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      };
      this.onFailure = (e) => {
        clearTimeout(timer);
        reject(e);
      };
    });
    got.catch(() => undefined);
    await new Promise<void>((resolve, reject) => this.child.send({ type: 'expect', seq }, (err) => (err ? reject(err) : resolve())));
    return () => got;
  }

  async stop(): Promise<void> {
    if (this.child.connected) this.child.send({ type: 'stop' });
    this.onFailure = undefined;
    this.failure = new Error('stopped');
    await stopChild(this.child, 'SIGTERM', 5_000).catch(() => undefined);
  }
}
