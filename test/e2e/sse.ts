/** A minimal Server-Sent Events reader over fetch for the console gateway tests. */

/** One event: its name ("message" unless the server named it) and its data parsed as JSON. */
export interface SseEvent {
  event: string;
  data: any;
}

/** An open SSE response: wait for events matching a predicate; close to abort the request. */
export class SseReader {
  readonly events: SseEvent[] = [];
  private readonly waiters = new Set<() => void>();
  private ended = false;

  private constructor(
    readonly response: Response,
    private readonly abort: AbortController,
  ) {}

  /** GET (or POST) an SSE URL; resolves once the response headers arrived. */
  static async open(url: string, init: RequestInit = {}): Promise<SseReader> {
    const abort = new AbortController();
    const response = await fetch(url, { ...init, signal: abort.signal });
    const reader = new SseReader(response, abort);
    if (response.ok && response.body) void reader.pump(response.body);
    return reader;
  }

  private async pump(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true });
        let cut;
        while ((cut = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            const i = line.indexOf(':');
            const field = i < 0 ? line : line.slice(0, i);
            const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
            if (field === 'event') event = value;
            else if (field === 'data') data.push(value);
          }
          if (data.length > 0) this.events.push({ event, data: JSON.parse(data.join('\n')) });
          this.wake();
        }
      }
    } catch {
      // aborted
    }
    this.ended = true;
    this.wake();
  }

  private wake(): void {
    for (const w of this.waiters) w();
  }

  /** The first event (from the start) matching `pred`. */
  async waitFor(pred: (e: SseEvent) => boolean, timeoutMs = 10_000): Promise<SseEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find(pred);
      if (found) return found;
      if (this.ended) throw new Error(`the stream ended without a matching event: ${JSON.stringify(this.events)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching event within ${timeoutMs} ms: ${JSON.stringify(this.events)}`);
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(t);
          this.waiters.delete(done);
          resolve();
        };
        const t = setTimeout(done, left);
        this.waiters.add(done);
      });
    }
  }

  /** Disconnect, as a browser closing the page would. */
  close(): void {
    this.abort.abort();
  }
}
