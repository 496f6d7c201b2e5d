// @ts-check
/**
 * The page's client of the console gateway: unary calls (POST ../api/<Service>/<Method>) and
 * Server-Sent Events streams (../api/stream/<Service>/<Method>) read with fetch, so that the
 * Authorization header can be sent (EventSource cannot send headers). URLs are relative to the page,
 * so the console also works behind a proxy that serves it under a path prefix.
 */

const TOKEN_KEY = 'nameserver-console-token';

/** The admin token of this tab ('' when none). */
export function getToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? '';
  } catch {
    return '';
  }
}

/** Keep (or, with '', forget) the admin token for this tab only. */
export function setToken(/** @type {string} */ token) {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // storage disabled: the token lives until the page is reloaded
  }
  memoryToken = token;
}
let memoryToken = getToken();

function headers(/** @type {Record<string, string>} */ extra = {}) {
  /** @type {Record<string, string>} */
  const h = { ...extra };
  const token = getToken() || memoryToken;
  if (token) h.authorization = `Bearer ${token}`;
  return h;
}

/** An error answered by the gateway: the gRPC status and, for incomplete writes, every broker's result. */
export class GatewayError extends Error {
  /**
   * @param {{code?: number, codeName?: string, message?: string, results?: any[]}} body
   * @param {number} httpStatus
   */
  constructor(body, httpStatus) {
    super(body.message ?? `HTTP ${httpStatus}`);
    this.code = body.code ?? 2;
    this.codeName = body.codeName ?? 'UNKNOWN';
    this.httpStatus = httpStatus;
    /** @type {any[]} */
    this.results = Array.isArray(body.results) ? body.results : [];
  }
}

/** @param {Response} res */
async function errorOf(res) {
  const text = await res.text().catch(() => '');
  try {
    return new GatewayError(JSON.parse(text), res.status);
  } catch {
    return new GatewayError({ message: `HTTP ${res.status} ${res.statusText}: ${text.slice(0, 200)}` }, res.status);
  }
}

const unreachable = (/** @type {unknown} */ err) =>
  new GatewayError({ code: 14, codeName: 'UNAVAILABLE', message: `the console server did not answer (${String(err)})` }, 0);

/**
 * Call a unary method, e.g. call('Admin/GetClusterInfo', {}). Resolves with the response's proto-JSON;
 * rejects with a GatewayError.
 * @param {string} method "Service/Method"
 * @param {object} body the request as proto-JSON
 * @returns {Promise<any>}
 */
export async function call(method, body = {}) {
  let res;
  try {
    res = await fetch(`../api/${method}`, {
      method: 'POST',
      headers: headers({ 'content-type': 'application/json' }),
      body: JSON.stringify(body),
      cache: 'no-store',
    });
  } catch (err) {
    throw unreachable(err);
  }
  if (!res.ok) throw await errorOf(res);
  return res.json();
}

/**
 * Open one Server-Sent Events stream. `onMessage` gets each response's proto-JSON; `onEnd` gets the
 * final status (a GatewayError, or null for OK) exactly once, unless the stream was closed by `close()`.
 * @param {string} method
 * @param {object} body
 * @param {{onOpen?: () => void, onMessage: (m: any) => void, onEnd: (e: GatewayError | null) => void}} handlers
 */
export function openStream(method, body, handlers) {
  const abort = new AbortController();
  let ended = false;
  const end = (/** @type {GatewayError | null} */ e) => {
    if (ended || abort.signal.aborted) return;
    ended = true;
    handlers.onEnd(e);
  };
  (async () => {
    let res;
    try {
      res = await fetch(`../api/stream/${method}?body=${encodeURIComponent(JSON.stringify(body))}`, {
        headers: headers({ accept: 'text/event-stream' }),
        signal: abort.signal,
        cache: 'no-store',
      });
    } catch (err) {
      end(unreachable(err));
      return;
    }
    if (!res.ok || !res.body) {
      end(await errorOf(res));
      return;
    }
    handlers.onOpen?.();
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let cut;
        while ((cut = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          let event = 'message';
          const data = [];
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            const i = line.indexOf(':');
            const field = i < 0 ? line : line.slice(0, i);
            const val = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
            if (field === 'event') event = val;
            else if (field === 'data') data.push(val);
          }
          if (data.length === 0) continue;
          const json = JSON.parse(data.join('\n'));
          if (event === 'status') {
            end(json.code === 0 ? null : new GatewayError(json, 0)); // no HTTP status: the stream itself was a 200
            return;
          }
          handlers.onMessage(json);
        }
      }
      end(new GatewayError({ code: 14, codeName: 'UNAVAILABLE', message: 'the stream ended without a status' }, 0));
    } catch (err) {
      end(unreachable(err));
    }
  })();
  return {
    close() {
      abort.abort();
    },
  };
}

/**
 * Follow a stream for the life of the page: reopened after it ends, with back-off (1 s doubling to
 * 10 s, reset once a message arrives). `onState` tells 'connecting', 'live' (a message arrived),
 * 'reconnecting' (with the error that ended the stream; null when it ended OK) or 'stopped'.
 * @param {string} method
 * @param {object} body
 * @param {{onOpen?: () => void, onMessage: (m: any) => void, onState: (state: string, e?: GatewayError | null) => void}} handlers
 */
export function follow(method, body, handlers) {
  let delay = 1000;
  let stopped = false;
  /** @type {{close(): void} | undefined} */
  let current;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  const start = () => {
    let first = true;
    current = openStream(method, body, {
      onOpen: () => handlers.onOpen?.(),
      onMessage: (m) => {
        delay = 1000;
        if (first) {
          first = false;
          handlers.onState('live');
        }
        handlers.onMessage(m);
      },
      onEnd: (e) => {
        if (stopped) return;
        handlers.onState('reconnecting', e);
        timer = setTimeout(start, delay);
        delay = Math.min(delay * 2, 10_000);
      },
    });
  };
  handlers.onState('connecting');
  start();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
      current?.close();
    },
  };
}
