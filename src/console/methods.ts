/**
 * The console gateway's method table, derived from the descriptor set buf compiles
 * (generated/descriptors.binpb): every method of the services the console exposes, with the schemas of
 * its request and response. Nothing here names a method: an RPC added to the proto (and regenerated)
 * appears in the gateway as it is.
 */
import type { DescMessage, FileRegistry } from '@bufbuild/protobuf';

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
  /** Schema of the request message. */
  input: DescMessage;
  /** Schema of the response message. */
  output: DescMessage;
}

/** The services the console exposes: the console-facing and the client-facing ones (not BrokerRegistry). */
export const CONSOLE_SERVICES: readonly string[] = ['nameserver.v1.Admin', 'nameserver.v1.RouteQuery'];

/**
 * Build the table, keyed "Service/Method". Throws when a service is not in the descriptor set: better
 * a console that refuses to start than one missing a service.
 */
export function methodTable(core: FileRegistry, services: readonly string[] = CONSOLE_SERVICES): Map<string, GatewayMethod> {
  const table = new Map<string, GatewayMethod>();
  for (const typeName of services) {
    const service = core.getService(typeName);
    if (!service) throw new Error(`console gateway: the descriptor set has no service ${typeName} (run npm run generate)`);
    for (const m of service.methods) {
      table.set(`${service.name}/${m.name}`, {
        service: service.name,
        name: m.name,
        path: `/${service.typeName}/${m.name}`,
        requestStream: m.methodKind === 'client_streaming' || m.methodKind === 'bidi_streaming',
        responseStream: m.methodKind === 'server_streaming' || m.methodKind === 'bidi_streaming',
        input: m.input,
        output: m.output,
      });
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
