/**
 * The framework's ceiling: a bare grpc-js server (the NameServer's grpc-js, with the NameServer's
 * server options) that answers `/nameserver.v1.RouteQuery/GetRoute` with a constant: the exact
 * response bytes the NameServer serves for the benchmarked route. No request decoding, no lookup,
 * no validation: what is left is grpc-js + node:http2 per call.
 *
 * Usage: node --import tsx bench/getroute/ceiling-server.ts RESPONSE_FILE
 * Prints {"port":N} once listening; stops on SIGTERM.
 */
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { DEFAULT_CONFIG } from '../../src/server/config';

const response = readFileSync(process.argv[2]!);
const identity = (b: Buffer) => b;

// The options NameServer's constructor (src/server/server.ts) gives grpc.Server, with the default config.
const server = new grpc.Server({
  'grpc.max_receive_message_length': DEFAULT_CONFIG.maxMessageBytes,
  'grpc.max_send_message_length': DEFAULT_CONFIG.maxMessageBytes,
  'grpc.keepalive_time_ms': DEFAULT_CONFIG.keepaliveTimeMs,
  'grpc.keepalive_timeout_ms': DEFAULT_CONFIG.keepaliveTimeoutMs,
  'grpc.enable_channelz': 0,
});
server.addService(
  {
    GetRoute: {
      path: '/nameserver.v1.RouteQuery/GetRoute',
      requestStream: false,
      responseStream: false,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    },
  },
  { GetRoute: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, response) },
);
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    process.stderr.write(`ceiling server: ${err.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`${JSON.stringify({ port })}\n`);
});
process.once('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
process.once('SIGINT', () => server.tryShutdown(() => process.exit(0)));
