/**
 * The grpc-js internals src/server/network/grpc/internals.ts relies on. These tests fail when a grpc-js
 * upgrade moves them; the stream limits, the stall handling and the push path depend on them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { baseCallOf, http2SessionOf, http2StreamOf, sendMessageOf } from '../../src/server/network/grpc/internals';
import { directSink, type DirectStream } from '../../src/server/network/route-query/coalescing-writer';

const identity = (b: Buffer) => b;
const METHOD = '/test.Internals/Chat';

/** A bare grpc-js server with one bidi method whose calls go to `onCall`. */
async function serve(onCall: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => void): Promise<{ server: grpc.Server; address: string }> {
  const server = new grpc.Server();
  server.addService(
    { chat: { path: METHOD, requestStream: true, responseStream: true, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity } },
    { chat: onCall },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { server, address: `127.0.0.1:${port}` };
}

test('a grpc-js server call exposes its HTTP/2 stream and session, and resetting that stream reaches the client', async () => {
  let found: { stream: http2.ServerHttp2Stream | undefined; session: http2.ServerHttp2Session | undefined; send: unknown } | undefined;
  const { server, address } = await serve((call) => {
    found = { stream: http2StreamOf(call), session: http2SessionOf(call), send: sendMessageOf(call) };
    call.write(Buffer.from('hello'));
    call.on('data', () => found!.stream?.close(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM));
  });
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  try {
    const c = client.makeBidiStreamRequest(METHOD, identity, identity);
    const first = await new Promise<Buffer>((resolve) => c.once('data', resolve));
    assert.equal(first.toString(), 'hello', 'sendMessage or the Duplex path delivered the message');
    assert.ok(found?.stream, 'http2StreamOf found the ServerHttp2Stream under the call');
    assert.equal(typeof found.stream.close, 'function');
    assert.equal(found.stream.closed, false);
    assert.ok(found.session && found.session === found.stream.session, 'http2SessionOf is the stream\'s session');
    assert.equal(typeof found.send, 'function', 'sendMessageOf found the call\'s sendMessage');
    // The reset is a real RST_STREAM: the client sees ENHANCE_YOUR_CALM as RESOURCE_EXHAUSTED.
    const err = new Promise<grpc.ServiceError>((resolve) => c.on('error', resolve));
    c.write(Buffer.from('reset me'));
    assert.equal((await err).code, grpc.status.RESOURCE_EXHAUSTED);
    assert.equal(found.stream.closed, true);
  } finally {
    client.close();
    server.forceShutdown();
  }
});

test('the lookups return undefined, not throw, on objects that are not grpc-js calls', () => {
  for (const v of [undefined, null, {}, { call: {} }, { call: { nextCall: { nextCall: {} } } }]) {
    assert.equal(http2StreamOf(v), undefined);
    assert.equal(http2SessionOf(v), undefined);
    assert.equal(sendMessageOf(v), undefined);
    assert.equal(baseCallOf(v), undefined);
  }
});

test('directSink: the first message goes through grpc-js (it sends the headers), later ones pre-framed straight to the HTTP/2 stream; the client reads both, then the status', async () => {
  const seen: { before?: boolean; after?: boolean; sameStream?: boolean; viaGrpc: number } = { viaGrpc: 0 };
  const { server, address } = await serve((call) => {
    // Count the messages that take grpc-js's path (the call's sendMessage).
    const outer = (call as unknown as { call: { sendMessage: (...a: unknown[]) => void } }).call;
    const send = outer.sendMessage;
    outer.sendMessage = function (this: unknown, ...a: unknown[]) {
      seen.viaGrpc++;
      return send.apply(this, a);
    };
    const base = baseCallOf(call);
    seen.sameStream = base !== undefined && base.stream === http2StreamOf(call);
    seen.before = base?.metadataSent;
    const sink = directSink(call as unknown as DirectStream);
    sink.write(Buffer.from('one'), () => {
      seen.after = base?.metadataSent;
      sink.write(Buffer.from('two'), () => call.end());
    });
  });
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  try {
    const c = client.makeBidiStreamRequest(METHOD, identity, identity);
    const got: string[] = [];
    c.on('data', (b: Buffer) => got.push(b.toString()));
    const st = await new Promise<grpc.StatusObject>((resolve) => c.on('status', resolve));
    assert.equal(st.code, grpc.status.OK);
    assert.deepEqual(got, ['one', 'two']);
    assert.equal(seen.sameStream, true, 'baseCallOf found the call that owns the HTTP/2 stream');
    assert.equal(seen.before, false, 'no headers before the first message');
    assert.equal(seen.after, true, 'the first message sent them');
    assert.equal(seen.viaGrpc, 1, 'only the first message went through grpc-js');
  } finally {
    client.close();
    server.forceShutdown();
  }
});
