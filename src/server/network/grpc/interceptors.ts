/**
 * The cross-cutting rules of every gRPC call, as one grpc-js server interceptor applied once, in
 * server.ts, to every service (ours, health and reflection): what a call sees, from the network in,
 *
 *   1. metrics and error logging: every call counted by method and final status code, unary calls
 *      timed, and every INTERNAL or UNKNOWN status logged with its method;
 *   2. the per-peer rate limit (our three services; health and reflection stay reachable);
 *   3. authentication by role (bearer tokens; health and reflection stay open).
 *
 * A call refused by 2 or 3 never reaches its handler; it is still counted by 1. Handlers know nothing
 * of any of this (the one handler adapter, adapter.ts, only awaits, maps errors and answers once).
 */
import {
  status,
  ServerInterceptingCall,
  type ServerInterceptor,
  type ServerMethodDefinition,
  type FullResponder,
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
 * The three rules as one interceptor, so every call carries one layer rather than three: a layer is a
 * few objects and closures held for the whole life of a call (about 0.5 KB of heap per WatchRoutes
 * stream saved, with tens of thousands of streams per replica; bench/results/capacity.md). Checks a
 * call does not need (no limit set, an open service) are not installed at all, and what a call keeps
 * is one small object (CallRules) and one closure.
 */
function callRules(o: Rules): ServerInterceptor {
  return (method: Method, call) => {
    const r = new CallRules(o, method, call);
    return new ServerInterceptingCall(call, {
      start: r.limited || r.guarded ? (next) => r.start(next) : undefined,
      sendStatus: r.sendStatus,
    });
  };
}

interface Rules {
  metrics: Metrics;
  limiter: PeerRateLimiter;
  guard: Guard;
}

type Call = Parameters<ServerInterceptor>[1];

/** One call's rules (see callRules). */
class CallRules {
  private readonly service: string;
  private readonly stats: ReturnType<Metrics['rpc']>;
  private readonly unary: boolean;
  private readonly started = performance.now();
  private readonly role: Role | undefined;
  readonly limited: boolean;
  readonly guarded: boolean;

  constructor(
    private readonly o: Rules,
    private readonly method: Method,
    private readonly call: Call,
  ) {
    const [service, rpc] = splitPath(method.path);
    this.service = service;
    this.stats = o.metrics.rpc(rpc);
    this.unary = !method.requestStream && !method.responseStream;
    const role = (this.role = ROLE_OF_SERVICE.get(service));
    this.limited = o.limiter.enabled && role !== undefined;
    this.guarded = role !== undefined && o.guard.required(role);
  }

  /** 1: every final status, refusals included. */
  private record(st: { code: status; details: string }): void {
    const code = st.code;
    const { method, call } = this;
    this.stats.done(status[code] ?? String(code), this.unary ? (performance.now() - this.started) / 1000 : undefined);
    if (code === status.INTERNAL || code === status.UNKNOWN) log.error({ rpc: method.path, code: status[code], details: st.details, peer: call.getPeer() }, 'call failed');
    // Two processes claiming one broker id: an operator wants to hear of it at once.
    else if (code === status.ALREADY_EXISTS && this.service === 'nameserver.v1.BrokerRegistry') {
      log.warn({ event: 'broker.conflict', rpc: method.path, details: st.details, peer: call.getPeer() }, 'broker id conflict refused');
    }
  }

  /** grpc-js calls responder functions unbound: an arrow field. */
  readonly sendStatus: FullResponder['sendStatus'] = (st, next) => {
    this.record(st);
    next(st);
  };

  /**
   * 2 and 3: refuse before the handler runs. The status goes straight to the call below (this layer
   * is still processing the metadata, and would hold a status back until that ends), counted here.
   */
  start(next: Parameters<FullResponder['start']>[0]): void {
    next({
      onReceiveMetadata: (metadata, pass) => {
        try {
          if (this.limited) this.o.limiter.admit(this.call.getPeer());
          if (this.guarded) this.o.guard.check(this.role!, metadata);
        } catch (err) {
          const st = toStatus(err, this.method.path);
          this.record(st);
          this.call.sendStatus(st);
          return;
        }
        pass(metadata);
      },
    });
  }
}

/** The interceptors for `new grpc.Server({ interceptors })`: the three rules, in one layer. */
export function serverInterceptors(o: Rules): ServerInterceptor[] {
  return [callRules(o)];
}
