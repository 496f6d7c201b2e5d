/**
 * Writes keyed state to a stream, latest value only. Callers `mark(key)` when the state of
 * a key changed; at flush time `render(key)` encodes what the client must now be told (or nothing), so
 * a burst of changes to one key costs one message. Memory is bounded by the number of distinct keys,
 * never by the number of events.
 *
 * Backpressure: at most `maxInFlight` messages are handed to grpc-js before their write callback
 * fires (grpc-js calls it once HTTP/2 flow control let the message out), and when `write()` returns
 * false nothing more is written until 'drain' (nice-grpc's rule). Keys marked meanwhile stay dirty and
 * coalesce, so a stalled subscriber holds at most `maxInFlight` messages plus one latest state per
 * key. A sink that stays blocked for `stallTimeoutMs` is reported through `onStall`
 * (the owner ends the stream with RESOURCE_EXHAUSTED): a slow subscriber never delays the
 * registration path or another subscriber, and is never dropped silently.
 *
 * Every message fits `maxMessageBytes` (grpc-js ends a stream that sends a larger one): a batch is
 * written before a part would push it past the limit, and a part larger than the limit on its own is
 * never written (the owner's `render` turns such state into something that fits; `onOversized` is the
 * safety net). Progress messages requested with `progress(true)` are one message each, so every
 * request a client sends is answered by a progress message of its own.
 */
import { status } from '@grpc/grpc-js';
import { baseCallOf, sendMessageOf, type BaseCall } from '../grpc/internals';

/** The part of a grpc-js server stream the writer uses. */
export interface Sink {
  write(chunk: Buffer, callback: (err?: Error | null) => void): boolean;
  once(event: 'drain', listener: () => void): unknown;
}

/** A grpc-js server stream, as `directSink` uses it. */
export interface DirectStream {
  write(chunk: Buffer, cb: () => void): boolean;
  once(e: 'drain', f: () => void): unknown;
  writableEnded: boolean;
  cancelled: boolean;
}

/**
 * A Sink that writes gRPC-framed messages straight to the call's HTTP/2 stream once grpc-js has sent
 * the response headers, skipping the Duplex stream, the interceptor layer and grpc-js's per-message
 * framing (none of which changes a message: no interceptor here touches messages). A fan-out writes one
 * message, a route's shared encoding, to thousands of streams in a row: it is framed once (`frameOf`)
 * and that one buffer goes to every stream. Before the headers went out, after the call ended, or when
 * a grpc-js version lacks the internals, messages take grpc-js's own path (`sendMessage`, else
 * `write()`). Backpressure is unchanged: the callback fires only once HTTP/2 flow control let the
 * message out, and the writer waits for it. A failed write ends the call with INTERNAL, as grpc-js does.
 */
export function directSink(stream: DirectStream): Sink {
  const send = sendMessageOf(stream);
  if (!send) return stream;
  return new DirectSink(stream, send, baseCallOf(stream));
}

/** See `directSink`: a class, not closures, since a replica holds one per watching client. */
class DirectSink implements Sink {
  private done: (() => void) | undefined;
  private onWritten: ((err?: Error | null) => void) | undefined;

  constructor(
    private readonly stream: DirectStream,
    private readonly send: (message: Buffer, callback: () => void) => void,
    private readonly base: BaseCall | undefined,
  ) {}

  write(chunk: Buffer, cb: () => void): boolean {
    if (this.stream.writableEnded || this.stream.cancelled) return true;
    const b = this.base;
    if (b && b.metadataSent && !b.cancelled && !b.stream.destroyed && !b.stream.closed) {
      b.stream.write(frameOf(chunk), this.callbackFor(cb));
    } else {
      this.send(chunk, cb);
    }
    return true;
  }

  once(e: 'drain', f: () => void): unknown {
    return this.stream.once(e, f);
  }

  /** The HTTP/2 write callback for `cb` (the writer passes the same one every time: made once). */
  private callbackFor(cb: () => void): (err?: Error | null) => void {
    if (cb !== this.done || !this.onWritten) {
      const base = this.base!;
      this.done = cb;
      this.onWritten = (err) => (err ? base.sendStatus({ code: status.INTERNAL, details: 'Internal server error', metadata: null }) : cb());
    }
    return this.onWritten;
  }
}

/** The last message framed, and its frame: a fan-out frames its message once for every stream. */
let lastMessage: Buffer | undefined;
let lastFrame: Buffer | undefined;

/**
 * A message as one gRPC length-prefixed frame (flag 0: uncompressed, then the length, big-endian).
 * Messages are never changed once written (routes are encoded once), so the frame of the message
 * written last is reused while the same message follows.
 */
export function frameOf(message: Buffer): Buffer {
  if (message === lastMessage && lastFrame) return lastFrame;
  const frame = Buffer.allocUnsafe(message.length + 5);
  frame[0] = 0;
  frame.writeUInt32BE(message.length, 1);
  message.copy(frame, 5);
  lastMessage = message;
  lastFrame = frame;
  return frame;
}

/** Options of a CoalescingWriter. */
export interface CoalescingWriterOptions {
  /** A batch is written once it reaches this size. */
  maxBatchBytes: number;
  /** No message is larger than this (default: unlimited). */
  maxMessageBytes?: number;
  /** A rendered part larger than `maxMessageBytes` was dropped (a bug in `render`; the stream lives on). */
  onOversized?: (key: unknown, bytes: number) => void;
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
  /** Progress messages owed (see `progress`). */
  private progressDue = 0;
  /** A rendered part that did not fit the batch just written, while the sink blocked: written first. */
  private carry: Buffer | undefined;
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

  /**
   * Send a progress message after the pending keys. `each`: one more progress message of its own (a
   * request was processed); otherwise one is enough, however often it is asked for (a timer).
   */
  progress(each = false): void {
    if (this.closed) return;
    this.progressDue = each ? this.progressDue + 1 : Math.max(this.progressDue, 1);
    this.schedule();
  }

  /** Stop writing and release everything. */
  close(): void {
    this.closed = true;
    this.dirty.clear();
    this.carry = undefined;
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
    const max = this.opts.maxMessageBytes ?? Infinity;
    let parts: Buffer[] = [];
    let size = 0;
    /** Write the batch; false when the writer must now wait for the sink. */
    const emit = (): boolean => {
      if (parts.length > 0) this.write(parts, size);
      [parts, size] = [[], 0];
      return !this.isBlocked;
    };
    /** Add a part (writing the batch first if the part would not fit); false when the writer must wait. */
    const add = (bytes: Buffer): boolean => {
      if (size > 0 && size + bytes.length > max && !emit()) {
        this.carry = bytes;
        return false;
      }
      parts.push(bytes);
      size += bytes.length;
      return size >= this.opts.maxBatchBytes ? emit() : true;
    };
    if (this.carry) {
      const c = this.carry;
      this.carry = undefined;
      if (!add(c)) return this.waitForSink();
    }
    for (const key of this.dirty) {
      this.dirty.delete(key);
      const bytes = this.render(key);
      if (!bytes) continue;
      if (bytes.length > max) {
        this.opts.onOversized?.(key, bytes.length);
        continue;
      }
      if (!add(bytes)) return this.waitForSink();
    }
    while (this.progressDue > 0) {
      this.progressDue--;
      const p = this.renderProgress(); // merged into the batch: it describes the state after the events
      if (!p) continue;
      if (!add(p)) return this.waitForSink();
      if (this.progressDue > 0 && !emit()) return this.waitForSink(); // the next one is a message of its own
    }
    emit();
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
    if (this.dirty.size > 0 || this.progressDue > 0 || this.carry) this.schedule();
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
