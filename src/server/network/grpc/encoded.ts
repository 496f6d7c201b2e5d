/**
 * Pre-encoded responses. The route table keeps each route's GetRoute response already encoded; a
 * handler answers with those bytes and this serializer passes them through, so serving a route that
 * has not changed never rebuilds or re-encodes it.
 */
import type { ServiceDefinition } from '@grpc/grpc-js';

/** A service definition whose response serializers pass Buffers through unchanged. */
export function acceptingEncoded<D extends ServiceDefinition>(def: D): D {
  const out: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(def)) {
    const serialize = method.responseSerialize;
    out[name] = { ...method, responseSerialize: (v: unknown) => (Buffer.isBuffer(v) ? v : serialize(v)) };
  }
  return out as D;
}

/**
 * Hand pre-encoded bytes to a typed callback. The cast is the one place where a handler's declared
 * response type is not the runtime value; `acceptingEncoded` makes the serializer accept it.
 */
export function encoded<T>(bytes: Buffer): T {
  return bytes as unknown as T;
}

/**
 * A request whose bytes are not a valid message of the method's input type. grpc-js would answer
 * INTERNAL ("Error deserializing request"); deserializers built by `tolerantDecoding` return this
 * instead, so handlers answer INVALID_ARGUMENT naming the problem.
 */
export class UndecodableRequest {
  constructor(readonly reason: string) {}
}

/** A service definition whose request deserializers never throw (see UndecodableRequest). */
export function tolerantDecoding<D extends ServiceDefinition>(def: D): D {
  const out: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(def)) {
    const deserialize = method.requestDeserialize;
    out[name] = {
      ...method,
      requestDeserialize: (b: Buffer) => {
        try {
          return deserialize(b);
        } catch (err) {
          return new UndecodableRequest(err instanceof Error ? err.message.slice(0, 200) : 'undecodable');
        }
      },
    };
  }
  return out as D;
}
