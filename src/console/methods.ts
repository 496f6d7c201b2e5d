/**
 * The console gateway's method table, derived from the generated stubs: every method of every service
 * definition exported by the given modules (AdminService, RouteQueryService), with the message
 * functions (`fromJSON`/`toJSON`/`encode`/`decode`) of its request and response. Nothing here names a
 * method: an RPC added to the proto (and regenerated) appears in the gateway as it is.
 *
 * Request and response messages are found by buf's STANDARD naming rules, which `buf lint` enforces on
 * this contract (RPC_REQUEST_STANDARD_NAME, RPC_RESPONSE_STANDARD_NAME): `<Method>Request` and
 * `<Method>Response`, or `<Service><Method>Request` / `<Service><Method>Response`, exported by the same
 * generated module as the service.
 */
import type { MethodDefinition } from '@grpc/grpc-js';
import * as adminModule from '../../generated/nameserver/v1/admin';
import * as routeQueryModule from '../../generated/nameserver/v1/route_query';

/** The generated functions of one message type (ts-proto's MessageFns, as the gateway uses them). */
export interface MessageFns {
  encode(message: unknown): { finish(): Uint8Array };
  decode(input: Uint8Array): unknown;
  fromJSON(object: unknown): unknown;
  toJSON(message: unknown): unknown;
}

/** One RPC reachable through the gateway. */
export interface GatewayMethod {
  /** Short service name, as in the URL: "Admin", "RouteQuery". */
  service: string;
  /** Method name as in the proto and the URL: "GetClusterInfo". */
  name: string;
  /** Full gRPC path: "/nameserver.v1.Admin/GetClusterInfo". */
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  /** Serializers of the generated service definition. */
  definition: MethodDefinition<unknown, unknown>;
  request: MessageFns;
  response: MessageFns;
}

/** The services the console exposes: the console-facing and the client-facing ones (not BrokerRegistry). */
export const CONSOLE_MODULES: readonly Record<string, unknown>[] = [adminModule, routeQueryModule];

function isMessageFns(v: unknown): v is MessageFns {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return ['encode', 'decode', 'fromJSON', 'toJSON'].every((k) => typeof o[k] === 'function');
}

function isMethodDefinition(v: unknown): v is MethodDefinition<unknown, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return (
    typeof o.path === 'string' &&
    /^\/[\w.]+\/\w+$/.test(o.path) &&
    typeof o.requestStream === 'boolean' &&
    typeof o.responseStream === 'boolean' &&
    typeof o.requestSerialize === 'function' &&
    typeof o.responseDeserialize === 'function'
  );
}

/** A grpc-js service definition: an object whose every entry is a method definition. */
function isServiceDefinition(v: unknown): v is Record<string, MethodDefinition<unknown, unknown>> {
  if (typeof v !== 'object' || v === null) return false;
  const entries = Object.values(v);
  return entries.length > 0 && entries.every(isMethodDefinition);
}

/** "/nameserver.v1.Admin/GetClusterInfo" → ["Admin", "GetClusterInfo"]. */
export function splitPath(path: string): [service: string, method: string] {
  const [, full = '', method = ''] = path.split('/');
  return [full.slice(full.lastIndexOf('.') + 1), method];
}

/**
 * Build the table, keyed "Service/Method". Throws when a method's messages cannot be found (a proto
 * that broke the naming rules): better a console that refuses to start than one missing a method.
 */
export function methodTable(modules: readonly Record<string, unknown>[] = CONSOLE_MODULES): Map<string, GatewayMethod> {
  const table = new Map<string, GatewayMethod>();
  for (const mod of modules) {
    const find = (names: string[]): MessageFns | undefined => {
      for (const n of names) {
        for (const m of [mod, ...modules]) if (isMessageFns(m[n])) return m[n] as MessageFns;
      }
      return undefined;
    };
    for (const [exportName, value] of Object.entries(mod)) {
      if (!exportName.endsWith('Service') || !isServiceDefinition(value)) continue;
      for (const definition of Object.values(value)) {
        const [service, name] = splitPath(definition.path);
        const request = find([`${name}Request`, `${service}${name}Request`]);
        const response = find([`${name}Response`, `${service}${name}Response`]);
        if (!request || !response) {
          throw new Error(`console gateway: no generated ${name}Request/${name}Response for ${definition.path}`);
        }
        table.set(`${service}/${name}`, {
          service,
          name,
          path: definition.path,
          requestStream: definition.requestStream,
          responseStream: definition.responseStream,
          definition,
          request,
          response,
        });
      }
    }
  }
  return table;
}

/**
 * Whether a method changes state, for the loopback-only-writes rule the gateway applies on the HTTP
 * side. Deny by default: only Get*, List* and Watch* are reads; every other Admin method (Create*,
 * Update*, Delete*, SetBrokerPermission, CheckReplicas, and any RPC added later) counts as a write.
 */
export function isAdminWrite(m: Pick<GatewayMethod, 'service' | 'name'>): boolean {
  return m.service === 'Admin' && !/^(Get|List|Watch)[A-Z]/.test(m.name);
}
