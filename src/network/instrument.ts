/**
 * RPC metrics as a service decorator: counts every call by method and final status code, and times
 * unary calls. Applied once per service in server.ts, so handlers stay free of metrics code.
 */
import { status, type ServiceDefinition, type UntypedHandleCall, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Metrics } from '../metrics';

/** Wrap every handler of `impl` to record metrics. */
export function instrument<S extends UntypedServiceImplementation>(def: ServiceDefinition, impl: S, metrics: Metrics): S {
  const out: UntypedServiceImplementation = {};
  for (const [name, method] of Object.entries(def)) {
    const rpc = method.path.slice(method.path.lastIndexOf('/') + 1);
    const handler = impl[name] as (...args: unknown[]) => void;
    // Label children are resolved once per method (and per status code), not on every call.
    const latency = metrics.rpcSeconds.labels({ method: rpc });
    const counters = new Map<number, { inc(): void }>();
    const count = (code: number) => {
      let c = counters.get(code);
      if (!c) counters.set(code, (c = metrics.rpcs.labels({ method: rpc, code: status[code] ?? String(code) })));
      c.inc();
    };
    if (method.requestStream || method.responseStream) {
      out[name] = ((call: NodeJS.EventEmitter) => {
        let done = false;
        const end = (code: number) => {
          if (done) return;
          done = true;
          count(code);
        };
        call.once('error', (e: { code?: number }) => end(e.code ?? status.UNKNOWN));
        call.once('cancelled', () => end(status.CANCELLED));
        call.once('finish', () => end(status.OK));
        handler(call);
      }) as UntypedHandleCall;
    } else {
      out[name] = ((call: unknown, callback: (err: { code?: number } | null, res?: unknown) => void) => {
        const started = process.hrtime.bigint();
        handler(call, (err: { code?: number } | null, res?: unknown) => {
          latency.observe(Number(process.hrtime.bigint() - started) / 1e9);
          count(err ? (err.code ?? status.UNKNOWN) : status.OK);
          callback(err, res);
        });
      }) as UntypedHandleCall;
    }
  }
  return out as S;
}
