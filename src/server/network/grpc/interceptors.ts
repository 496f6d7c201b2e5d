/**
 * The cross-cutting rules of every gRPC call, as grpc-js server interceptors applied once, in
 * server.ts, to every service (ours, health and reflection): what a call sees, from the network in,
 *
 *   1. metrics and error logging: every call counted by method and final status code, unary calls
 *      timed, and every INTERNAL or UNKNOWN status logged with its method;
 *   2. the per-peer rate limit (our three services; health and reflection stay reachable);
 *   3. authentication by role (bearer tokens; health and reflection stay open).
 *
 * A call refused by 2 or 3 never reaches its handler; it is still counted by 1. Handlers know nothing
 * of any of this (the one handler adapter, adapter.ts, only awaits, maps errors and answers once).
 * Interceptors run in array order on the way in and in reverse on the way out (grpc-js applies them
 * with reduce over the base call).
 */
import {
  status,
  ServerInterceptingCall,
  type Metadata,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  type ServerMethodDefinition,
} from '@grpc/grpc-js';
import { log } from '../../log';
import type { Metrics } from '../../metrics';
import type { Guard, Role } from './auth';
import type { PeerRateLimiter } from './rate-limit';
import { toStatus } from './status';

/** Which role a service needs (services not listed, health and reflection, are open). */
const ROLE_OF_SERVICE: ReadonlyMap<string, Role> = new Map([
  ['nameserver.v1.BrokerRegistry', 'broker'],
  ['nameserver.v1.RouteQuery', 'client'],
  ['nameserver.v1.Admin', 'admin'],
]);

/** "/pkg.Service/Method" → ["pkg.Service", "Method"]. */
function splitPath(path: string): [string, string] {
  const i = path.lastIndexOf('/');
  return [path.slice(1, i), path.slice(i + 1)];
}

type Method = ServerMethodDefinition<unknown, unknown>;

/**
 * Refuse a call before its handler runs when `check` throws: the status goes out instead of the
 * metadata being passed on, so nothing later (handler, other interceptors) sees the call.
 */
function refuseWhen(check: (metadata: Metadata, call: ServerInterceptingCallInterface) => void, rpc: string, call: ServerInterceptingCallInterface): ServerInterceptingCall {
  return new ServerInterceptingCall(call, {
    start: (next) =>
      next({
        onReceiveMetadata: (metadata, pass) => {
          try {
            check(metadata, call);
          } catch (err) {
            call.sendStatus(toStatus(err, rpc));
            return;
          }
          pass(metadata);
        },
      }),
  });
}

/** 1. Counts and times every call by method and status; logs INTERNAL and UNKNOWN. */
export function metricsInterceptor(metrics: Metrics): ServerInterceptor {
  return (method: Method, call) => {
    const [, rpc] = splitPath(method.path);
    const stats = metrics.rpc(rpc);
    const unary = !method.requestStream && !method.responseStream;
    const started = performance.now();
    return new ServerInterceptingCall(call, {
      sendStatus: (s, next) => {
        stats.done(status[s.code] ?? String(s.code), unary ? (performance.now() - started) / 1000 : undefined);
        if (s.code === status.INTERNAL || s.code === status.UNKNOWN) log.error({ rpc: method.path, code: status[s.code], details: s.details, peer: call.getPeer() }, 'call failed');
        // Two processes claiming one broker id: an operator wants to hear of it at once.
        else if (s.code === status.ALREADY_EXISTS && method.path.startsWith('/nameserver.v1.BrokerRegistry/')) {
          log.warn({ event: 'broker.conflict', rpc: method.path, details: s.details, peer: call.getPeer() }, 'broker id conflict refused');
        }
        next(s);
      },
    });
  };
}

/** 2. One token per call from the peer host's bucket (our services only). */
export function rateLimitInterceptor(limiter: PeerRateLimiter): ServerInterceptor {
  return (method: Method, call) => {
    const [service] = splitPath(method.path);
    if (!limiter.enabled || !ROLE_OF_SERVICE.has(service)) return new ServerInterceptingCall(call);
    return refuseWhen((_md, c) => limiter.admit(c.getPeer()), method.path, call);
  };
}

/** 3. The bearer token the service's role needs (health and reflection are open). */
export function authInterceptor(guard: Guard): ServerInterceptor {
  return (method: Method, call) => {
    const [service] = splitPath(method.path);
    const role = ROLE_OF_SERVICE.get(service);
    if (!role || !guard.required(role)) return new ServerInterceptingCall(call);
    return refuseWhen((metadata) => guard.check(role, metadata), method.path, call);
  };
}

/** The chain, in order, for `new grpc.Server({ interceptors })`. */
export function serverInterceptors(o: { metrics: Metrics; limiter: PeerRateLimiter; guard: Guard }): ServerInterceptor[] {
  return [metricsInterceptor(o.metrics), rateLimitInterceptor(o.limiter), authInterceptor(o.guard)];
}
