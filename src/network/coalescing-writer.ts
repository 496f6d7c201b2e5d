/**
 * Writes keyed state to a stream, latest value only (STYLE.md 8). Callers `mark(key)` when the state of
 * a key changed; at flush time `render(key)` encodes what the client must now be told (or nothing), so
 * a burst of changes to one key costs one message. Memory is bounded by the number of distinct keys,
 * never by the number of events.
 *
 * Backpressure: at most `maxInFlight` messages are handed to grpc-js before their write callback
 * fires (grpc-js calls it once HTTP/2 flow control let the message out), and when `write()` returns
 * false nothing more is written until 'drain' (nice-grpc's rule). Keys marked meanwhile stay dirty and
 * coalesce, so a stalled subscriber holds at most one flow-control window of messages plus one
 * latest state per key. A sink that stays blocked for `stallTimeoutMs` is reported through `onStall`
 * (the owner ends the stream with RESOURCE_EXHAUSTED): a slow subscriber never delays the
 * registration path or another subscriber, and is never dropped silently.
 */

/** The part of a grpc-js server stream the writer uses. */
export interface Sink {
  write(chunk: Buffer, callback: (err?: Error | null) => void): boolean;
  once(event: 'drain', listener: () => void): unknown;
}

/**
 * A Sink that hands messages straight to the grpc-js call's `sendMessage`, skipping the Duplex
 * stream layer in between (its `_write` does nothing else). On a fan-out to 10,000 streams that layer
 * is a large share of the CPU. Backpressure is unchanged: the callback still fires only when HTTP/2
 * flow control let the message out, and the writer waits for it. Falls back to `write()` if a grpc-js
 * version lacks the internal call.
 */
export function directSink(stream: {
  write(chunk: Buffer, cb: () => void): boolean;
  once(e: 'drain', f: () => void): unknown;
  writableEnded: boolean;
  cancelled: boolean;
}): Sink {
  const inner = (stream as unknown as { call?: { sendMessage?: (m: Buffer, cb: () => void) => void } }).call;
  if (typeof inner?.sendMessage !== 'function') return stream;
  const send = inner.sendMessage.bind(inner);
  return {
    write(chunk, cb) {
      if (!stream.writableEnded && !stream.cancelled) send(chunk, cb);
      return true;
    },
    once: (e, f) => stream.once(e, f),
  };
}

/** Options of a CoalescingWriter. */
export interface CoalescingWriterOptions {
  /** A batch is written once it reaches this size. */
  maxBatchBytes: number;
  /** Messages written but not yet let out by flow control before the writer waits (default 1). */
  maxInFlight?: number;
  /** Observers of written messages and coalesced marks (metrics). */
  onWritten?: () => void;
  onCoalesced?: () => void;
  /** How long the sink may stay blocked before `onStall`. */
  stallTimeoutMs: number;
  onStall: () => void;
}

/** See the module comment. */
export class CoalescingWriter<K> {
  private readonly dirty = new Set<K>();
  private progressDue = false;
  private scheduled = false;
  private inFlight = 0;
  private needDrain = false;
  private closed = false;
  private stallTimer: NodeJS.Timeout | undefined;
  /** Messages written. */
  written = 0;
  /** Marks absorbed by a key that was already pending. */
  coalesced = 0;

  constructor(
    private readonly sink: Sink,
    private readonly render: (key: K) => Buffer | undefined,
    private readonly renderProgress: () => Buffer | undefined,
    private readonly opts: CoalescingWriterOptions,
  ) {}

  /** Keys waiting to be rendered. */
  get pending(): number {
    return this.dirty.size;
  }

  /** Whether the writer waits for the sink (write callbacks or 'drain'). */
  get isBlocked(): boolean {
    return this.needDrain || this.inFlight >= (this.opts.maxInFlight ?? 1);
  }

  /** The state of `key` changed. O(1). */
  mark(key: K): void {
    if (this.closed) return;
    if (this.dirty.has(key)) {
      this.coalesced++;
      this.opts.onCoalesced?.();
      return;
    }
    this.dirty.add(key);
    this.schedule();
  }

  /** Drop a pending key (unsubscribed). */
  forget(key: K): void {
    this.dirty.delete(key);
  }

  /** Send a progress message after the pending keys. */
  progress(): void {
    if (this.closed) return;
    this.progressDue = true;
    this.schedule();
  }

  /** Stop writing and release everything. */
  close(): void {
    this.closed = true;
    this.dirty.clear();
    if (this.stallTimer) clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
  }

  private schedule(): void {
    if (this.scheduled || this.isBlocked || this.closed) return;
    this.scheduled = true;
    enqueue(this);
  }

  /** @internal Render and write what is pending (called by the shared flush queue). */
  flush(): void {
    this.scheduled = false;
    if (this.closed || this.isBlocked) return;
    let parts: Buffer[] = [];
    let size = 0;
    for (const key of this.dirty) {
      this.dirty.delete(key);
      const bytes = this.render(key);
      if (!bytes) continue;
      parts.push(bytes);
      size += bytes.length;
      if (size >= this.opts.maxBatchBytes) {
        this.write(parts, size);
        [parts, size] = [[], 0];
        if (this.isBlocked) return this.waitForSink();
      }
    }
    if (this.progressDue) {
      this.progressDue = false;
      const p = this.renderProgress();
      if (p) [parts, size] = [[...parts, p], size + p.length]; // merged: it describes the state after the events
    }
    if (parts.length > 0) this.write(parts, size);
    if (this.isBlocked) this.waitForSink();
  }

  private write(parts: Buffer[], size: number): void {
    this.written++;
    this.opts.onWritten?.();
    this.inFlight++;
    const ok = this.sink.write(parts.length === 1 ? parts[0]! : Buffer.concat(parts, size), this.afterWrite);
    if (!ok) {
      this.needDrain = true;
      this.sink.once('drain', this.afterDrain);
    }
  }

  /** Write callback and 'drain' listener, bound once (a fan-out writes to thousands of streams). */
  private readonly afterWrite = (): void => {
    this.inFlight--;
    this.unblocked();
  };

  private readonly afterDrain = (): void => {
    this.needDrain = false;
    this.unblocked();
  };

  private waitForSink(): void {
    if (this.stallTimer || this.closed) return;
    this.stallTimer = setTimeout(() => {
      this.stallTimer = undefined;
      if (!this.closed && this.isBlocked) this.opts.onStall();
    }, this.opts.stallTimeoutMs);
    this.stallTimer.unref();
  }

  private unblocked(): void {
    if (this.isBlocked || this.closed) return;
    if (this.stallTimer) clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
    if (this.dirty.size > 0 || this.progressDue) this.schedule();
  }
}

/**
 * One flush queue for all writers: a change followed by 10,000 subscribers marks 10,000 writers, which
 * flush in slices of one `setImmediate` each instead of 10,000 callbacks. Slicing lets HTTP/2 send
 * the first subscribers' bytes (and read other clients' requests) between slices, instead of holding
 * every socket write until the whole fan-out is written.
 */
const SLICE = 256;
let queue: { flush(): void }[] = [];
let head = 0;

function enqueue(w: { flush(): void }): void {
  if (queue.length === head) {
    queue = [];
    head = 0;
    setImmediate(runQueue);
  }
  queue.push(w);
}

function runQueue(): void {
  const end = Math.min(queue.length, head + SLICE);
  while (head < end) queue[head++]!.flush();
  if (head < queue.length) setImmediate(runQueue);
  else {
    queue = [];
    head = 0;
  }
}
