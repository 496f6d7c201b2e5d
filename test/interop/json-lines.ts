/**
 * A child process that prints one JSON object per line on stdout (the example brokers and clients):
 * records every line and waits for lines matching a predicate, failing with the process's recent
 * output when it exits or the wait times out.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

/** One line of output. */
export type Line = Record<string, unknown> & { event: string };

/** See the module comment. */
export class JsonLineProcess {
  readonly lines: Line[] = [];
  readonly child: ChildProcess;
  private stderr = '';
  private partial = '';
  private exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly wakers = new Set<() => void>();

  constructor(
    readonly name: string,
    command: string,
    args: string[],
    options: SpawnOptions = {},
  ) {
    this.child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.setEncoding('utf8');
    this.child.stdout!.on('data', (chunk: string) => {
      this.partial += chunk;
      let nl: number;
      while ((nl = this.partial.indexOf('\n')) >= 0) {
        const text = this.partial.slice(0, nl).trim();
        this.partial = this.partial.slice(nl + 1);
        if (!text) continue;
        try {
          this.lines.push(JSON.parse(text) as Line);
        } catch {
          this.lines.push({ event: 'non-json', text });
        }
      }
      this.wake();
    });
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-8000);
    });
    this.child.on('exit', (code, signal) => {
      this.exit = { code, signal };
      this.wake();
    });
    this.child.on('error', (err) => {
      this.stderr += `\nspawn error: ${err.message}`;
      this.exit = { code: -1, signal: null };
      this.wake();
    });
  }

  /** True once the process has exited. */
  get exited(): boolean {
    return this.exit !== undefined;
  }

  /** Recent output, for failure messages. */
  describe(): string {
    const tail = this.lines.slice(-15).map((l) => `  ${JSON.stringify(l)}`).join('\n');
    const exit = this.exit ? `exited (code ${this.exit.code}, signal ${this.exit.signal})` : 'running';
    return `${this.name} [pid ${this.child.pid}, ${exit}]\n last stdout lines:\n${tail}\n stderr:\n${this.stderr.trim().slice(-3000)}`;
  }

  /** The first line (at index >= `since`) satisfying `pred`. */
  find(pred: (l: Line) => boolean, since = 0): Line | undefined {
    for (let i = since; i < this.lines.length; i++) if (pred(this.lines[i]!)) return this.lines[i];
    return undefined;
  }

  /** Wait for a line (at index >= `since`) satisfying `pred`. */
  waitFor(what: string, pred: (l: Line) => boolean, timeoutMs = 10_000, since = 0): Promise<Line> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const hit = this.find(pred, since);
        if (hit) {
          done();
          resolve(hit);
          return true;
        }
        if (this.exit) {
          done();
          reject(new Error(`${this.name} exited while waiting for ${what}\n${this.describe()}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.name}: no ${what} within ${timeoutMs} ms\n${this.describe()}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.wakers.delete(waker);
      };
      const waker = () => void check();
      if (!check()) this.wakers.add(waker);
    });
  }

  /** Send a signal and wait for the exit (SIGKILL after `graceMs`). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 3_000): Promise<void> {
    if (this.exit) return;
    const gone = new Promise<void>((resolve) => {
      const w = () => {
        if (this.exit) {
          this.wakers.delete(w);
          resolve();
        }
      };
      this.wakers.add(w);
    });
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await gone;
    clearTimeout(timer);
  }

  private wake(): void {
    for (const w of [...this.wakers]) w();
  }
}

/** Poll `check` (which throws while the condition does not hold) until it passes; rethrow its last error on timeout. */
export async function eventually<T>(what: string, check: () => T | Promise<T>, timeoutMs = 10_000, intervalMs = 25): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() >= end) {
        const msg = err instanceof Error ? err.message : String(err);
        throw new Error(`${what}: not reached within ${timeoutMs} ms: ${msg}`, { cause: err });
      }
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
