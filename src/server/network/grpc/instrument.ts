/**
 * RPC metrics as a service decorator: counts every call by method and final status code, and times
 * unary calls. Applied once per service in server.ts, so handlers stay free of metrics code.
 */
import { status, type ServiceDefinition, type UntypedHandleCall, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Metrics } from '../../metrics';

/** Wrap every handler of `impl` to record metrics. */
export function instrument<S extends UntypedServiceImplementation>(def: ServiceDefinition, impl: S, metrics: Metrics): S {
  const out: UntypedServiceImplementation = {};
  for (const [name, method] of Object.entries(def)) {
    const rpc = method.path.slice(method.path.lastIndexOf('/') + 1);
    const handler = impl[name] as (...args: unknown[]) => void;
    const stats = metrics.rpc(rpc); // resolved once per method, not per call
    if (method.requestStream || method.responseStream) {
      out[name] = ((call: NodeJS.EventEmitter) => {
        let done = false;
        const end = (code: number) => {
          if (done) return;
          done = true;
          stats.done(status[code] ?? String(code));
        };
        call.once('error', (e: { code?: number }) => end(e.code ?? status.UNKNOWN));
        call.once('cancelled', () => end(status.CANCELLED));
        call.once('finish', () => end(status.OK));
        handler(call);
      }) as UntypedHandleCall;
    } else {
      out[name] = ((call: unknown, callback: (err: { code?: number } | null, res?: unknown) => void) => {
        const started = performance.now();
        handler(call, (err: { code?: number } | null, res?: unknown) => {
          const code = err ? (err.code ?? status.UNKNOWN) : status.OK;
          stats.done(status[code] ?? String(code), (performance.now() - started) / 1000);
          callback(err, res);
        });
      }) as UntypedHandleCall;
    }
  }
  return out as S;
}
