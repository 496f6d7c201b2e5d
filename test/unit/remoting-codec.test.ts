/**
 * The remoting codec: frames with JSON and ROCKETMQ binary headers, the stream splitter, fastjson's
 * two JSON forms, register bodies (JSON and compressed), and fuzzed malformed frames (every bad input
 * is a FrameError or BodyError, never another exception).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import {
  decodeFrame,
  encodeFrame,
  encodeResponse,
  FLAG_ONEWAY,
  FLAG_RESPONSE,
  FrameError,
  FrameBufferPool,
  FrameReader,
  FrameSplitter,
  isOneway,
  isResponse,
  responseTo,
  SerializeType,
  type RemotingCommand,
} from '../../src/server/network/remoting/frame';
import { NumberKeyMap, parseLenientJson, writeJson } from '../../src/server/network/remoting/json';
import {
  BodyError,
  createTopicFields,
  decodeRegisterBody,
  peekDataVersion,
  permissionOf,
  rmqPerm,
  sysFlagOf,
  toTopicConfig,
} from '../../src/server/network/remoting/translate';
import { versionName } from '../../src/server/network/remoting/codes';
import { MessageType, Permission } from '../../generated/nameserver/v1/common';
import { prng } from '../fuzz/inputs';

const request = (over: Partial<RemotingCommand> = {}): RemotingCommand => ({
  code: 105,
  language: 'JAVA',
  version: 513,
  opaque: 42,
  flag: 0,
  extFields: { topic: 'orders', acceptStandardJsonOnly: 'true' },
  serializeType: SerializeType.JSON,
  ...over,
});

/** Strip the 4-byte length prefix of an encoded frame. */
const frameOf = (b: Buffer) => b.subarray(4);

describe('frames', () => {
  for (const type of [SerializeType.JSON, SerializeType.ROCKETMQ]) {
    test(`${SerializeType[type]} header and body round-trip`, () => {
      const cmd = request({ serializeType: type, remark: 'héllo', body: Buffer.from('{"x":1}'), flag: FLAG_ONEWAY });
      const wire = encodeFrame(cmd);
      assert.equal(wire.readUInt32BE(0), wire.length - 4, 'length prefix counts everything after it');
      assert.equal(wire.readUInt8(4), type, 'serialize type in the high byte');
      const back = decodeFrame(frameOf(wire));
      assert.deepEqual({ ...back, body: back.body?.toString() }, { ...cmd, body: '{"x":1}' });
      assert.ok(isOneway(back) && !isResponse(back));
    });
  }

  test('a ROCKETMQ binary header laid out byte by byte decodes (code, language, version, opaque, flag, remark, ext)', () => {
    const k = Buffer.from('topic');
    const v = Buffer.from('T1');
    const header = Buffer.concat([
      Buffer.from([0x00, 0x69]), // code 105
      Buffer.from([9]), // GO
      Buffer.from([0x01, 0x91]), // version 401
      Buffer.from([0, 0, 0, 7]), // opaque
      Buffer.from([0, 0, 0, 0]), // flag
      Buffer.from([0, 0, 0, 0]), // no remark
      Buffer.from([0, 0, 0, 2 + k.length + 4 + v.length]),
      Buffer.from([0, k.length]), k, Buffer.from([0, 0, 0, v.length]), v,
    ]);
    const frame = Buffer.concat([Buffer.from([1, 0, 0, header.length]), header]);
    const cmd = decodeFrame(frame);
    assert.deepEqual([cmd.code, cmd.language, cmd.version, cmd.opaque, cmd.flag, cmd.remark, cmd.extFields, cmd.body], [105, 'GO', 401, 7, 0, undefined, { topic: 'T1' }, undefined]);
  });

  test('a JSON header as the Java client writes it decodes; responses are JSON with the request opaque', () => {
    const json = '{"code":106,"extFields":{},"flag":0,"language":"JAVA","opaque":3,"serializeTypeCurrentRPC":"JSON","version":513}';
    const frame = Buffer.concat([Buffer.from([0, 0, 0, json.length]), Buffer.from(json)]);
    const cmd = decodeFrame(frame);
    assert.equal(cmd.code, 106);
    const res = decodeFrame(frameOf(encodeFrame(responseTo(cmd, 0, { extFields: { changed: 'true' } }))));
    assert.equal(res.opaque, 3);
    assert.equal(res.flag & FLAG_RESPONSE, FLAG_RESPONSE);
    assert.equal(res.serializeType, SerializeType.JSON);
    assert.deepEqual(res.extFields, { changed: 'true' });
  });

  test('the JSON header is exactly the text JSON.stringify makes of its fields in name order', () => {
    const cases: RemotingCommand[] = [
      responseTo({ opaque: 7 }, 0, { body: Buffer.from('{}') }),
      responseTo({ opaque: -2147483648 }, 17, { remark: 'No topic route info: "quoted" \\ ünïcode ✓ \n' }),
      responseTo({ opaque: 2147483647 }, 0, { extFields: { changed: 'true', 'ké"y': 'v\u0000' } }),
      request({ remark: '' }),
      request({ extFields: {}, language: 'GO' }),
    ];
    for (const cmd of cases) {
      const h: Record<string, unknown> = { code: cmd.code };
      if (Object.keys(cmd.extFields).length > 0) h.extFields = cmd.extFields;
      h.flag = cmd.flag;
      h.language = cmd.language;
      h.opaque = cmd.opaque;
      if (cmd.remark !== undefined) h.remark = cmd.remark;
      h.serializeTypeCurrentRPC = 'JSON';
      h.version = cmd.version;
      const header = Buffer.from(JSON.stringify(h), 'utf8');
      const wire = encodeFrame(cmd);
      const body = cmd.body ?? Buffer.alloc(0);
      assert.equal(wire.readUInt32BE(0), 4 + header.length + body.length);
      assert.equal(wire.readUInt32BE(4), header.length, 'JSON type 0, header length in bytes (not characters)');
      assert.deepEqual(wire.subarray(8, 8 + header.length), header);
      assert.deepEqual(wire.subarray(8 + header.length), body);
    }
  });

  test('encodeResponse is encodeFrame(responseTo(...)) byte for byte, for any opaque, code, remark, extFields and body', () => {
    const bodies = [undefined, Buffer.alloc(0), Buffer.from('{"brokerDatas":[]}'), Buffer.alloc(20_000, 1)];
    const options: { remark?: string; extFields?: Record<string, string> }[] = [{}, { remark: '' }, { remark: 'nö route' }, { extFields: {} }, { extFields: { changed: 'true' } }];
    let n = 0;
    for (const opaque of [0, 1, 9, 10, 12_345, 2_147_483_647, -1, -2_147_483_648])
      for (const code of [0, 1, 17, 25, 1234])
        for (const body of bodies)
          for (const o of options) {
            const opts = { ...o, body };
            assert.deepEqual(encodeResponse({ opaque }, code, opts), encodeFrame(responseTo({ opaque }, code, opts)), JSON.stringify({ opaque, code, o, body: body?.length }));
            n++;
          }
    assert.equal(n, 8 * 5 * 4 * 5);
    // Frames cut from one slab do not overlap: earlier frames keep their bytes.
    const frames = Array.from({ length: 200 }, (_, i) => encodeResponse({ opaque: i }, 0, { body: Buffer.alloc(700, i) }));
    frames.forEach((f, i) => {
      const back = decodeFrame(frameOf(f));
      assert.equal(back.opaque, i);
      assert.ok(back.body!.every((b) => b === i % 256), `frame ${i} keeps its body`);
    });
  });

  test('JSON header extFields: numbers and booleans become their text, nulls are left out, anything else is a FrameError', () => {
    const frame = (json: string) => Buffer.concat([Buffer.from([0, 0, 0, Buffer.byteLength(json)]), Buffer.from(json)]);
    assert.deepEqual(decodeFrame(frame('{"code":105,"extFields":{"topic":"t","n":3,"b":false,"z":null},"opaque":1}')).extFields, { topic: 't', n: '3', b: 'false' });
    assert.deepEqual(decodeFrame(frame('{"code":105,"extFields":{"topic":"t","x":"1"},"opaque":1}')).extFields, { topic: 't', x: '1' });
    assert.deepEqual(decodeFrame(frame('{"code":105,"extFields":null}')).extFields, {});
    assert.throws(() => decodeFrame(frame('{"code":105,"extFields":{"topic":"t","o":{}}}')), FrameError);
    assert.throws(() => decodeFrame(frame('{"code":105,"extFields":["t"]}')), FrameError);
    assert.throws(() => decodeFrame(frame('{"code":105,"extFields":"t"}')), FrameError);
  });

  test('the splitter reassembles frames split at every byte and refuses oversized or short lengths', () => {
    const a = encodeFrame(request({ opaque: 1 }));
    const b = encodeFrame(request({ opaque: 2, body: Buffer.alloc(300, 7) }));
    const all = Buffer.concat([a, b]);
    const s = new FrameSplitter(1024);
    const got: number[] = [];
    for (let i = 0; i < all.length; i++) for (const f of s.push(all.subarray(i, i + 1))) got.push(decodeFrame(f).opaque);
    assert.deepEqual(got, [1, 2]);
    assert.equal(s.pendingBytes, 0);
    const big = new FrameSplitter(100);
    assert.throws(() => big.push(b.subarray(0, 4)), (e: Error) => e instanceof FrameError && /exceeds the limit of 100/.test(e.message));
    assert.throws(() => new FrameSplitter(100).push(Buffer.from([0, 0, 0, 2, 0, 0])), FrameError);
  });

  test('the reader copies frames out of a reused read buffer, at any split, and reuses large frame buffers once given back', () => {
    const pool = new FrameBufferPool();
    const a = encodeFrame(request({ opaque: 1 }));
    const big = encodeFrame(request({ opaque: 2, body: Buffer.alloc(200 * 1024, 7) }));
    const c = encodeFrame(request({ opaque: 3, body: Buffer.from('tail') }));
    const all = Buffer.concat([a, big, c, big]);
    for (const step of [1, 3, 4, 4099, 65536, all.length]) {
      const r = new FrameReader(1 << 20, pool);
      const frames: Buffer[] = [];
      const scratch = Buffer.alloc(step); // one buffer for every read, overwritten each time (as a socket reading into it)
      for (let i = 0; i < all.length; i += step) {
        const n = all.copy(scratch, 0, i, Math.min(all.length, i + step));
        r.push(scratch.subarray(0, n), (f) => frames.push(f));
        scratch.fill(0xee);
      }
      assert.deepEqual(frames.map((f) => decodeFrame(f).opaque), [1, 2, 3, 2], `step ${step}`);
      assert.deepEqual(decodeFrame(frames[1]!).body, Buffer.alloc(200 * 1024, 7), `step ${step}: the body survives the read buffer's reuse`);
      assert.equal(decodeFrame(frames[2]!).body?.toString(), 'tail');
      assert.equal(r.pendingBytes, 0);
      assert.notEqual(frames[1]!.buffer, frames[3]!.buffer, 'a buffer not given back is never handed out again');
    }
    // Given back, a large frame's buffer serves the next large frame; small frames are not pooled.
    const r = new FrameReader(1 << 20, pool);
    const seen: Buffer[] = [];
    r.push(big, (f) => seen.push(f));
    pool.give(seen[0]!);
    pool.give(Buffer.alloc(100));
    pool.give(Buffer.alloc(100 * 1024)); // not a power of two: not from the pool
    r.push(Buffer.concat([big, a]), (f) => seen.push(f));
    assert.equal(seen[1]!.buffer, seen[0]!.buffer, 'the given-back buffer is reused');
    assert.deepEqual(decodeFrame(seen[1]!).body, Buffer.alloc(200 * 1024, 7));
    assert.equal(decodeFrame(seen[2]!).opaque, 1);
    for (let i = 0; i < 10; i++) pool.give(Buffer.allocUnsafeSlow(256 * 1024));
    assert.ok(pool.size <= 4, `a size class keeps at most 4 buffers (has ${pool.size})`);
    assert.throws(() => new FrameReader(100, pool).push(big.subarray(0, 4), () => undefined), (e: Error) => e instanceof FrameError && /exceeds the limit of 100/.test(e.message));
    assert.throws(() => new FrameReader(100, pool).push(Buffer.from([0, 0, 0, 2, 0, 0]), () => undefined), FrameError);
  });

  test('malformed headers are FrameErrors', () => {
    const bad: Buffer[] = [
      Buffer.from([0, 0, 0, 10, 1, 2]), // header length beyond the frame
      Buffer.from([2, 0, 0, 0]), // unknown serialize type
      Buffer.concat([Buffer.from([0, 0, 0, 3]), Buffer.from('{x}')]), // JSON that does not parse
      Buffer.concat([Buffer.from([0, 0, 0, 2]), Buffer.from('[]')]),
      Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('{"code":"x"}')]),
      Buffer.concat([Buffer.from([1, 0, 0, 5]), Buffer.alloc(5)]), // binary header too short
    ];
    for (const f of bad) assert.throws(() => decodeFrame(f), FrameError, f.toString('hex'));
  });

  test('fuzz: mutated and truncated frames only ever raise FrameError', () => {
    const seeds = [
      encodeFrame(request()),
      encodeFrame(request({ serializeType: SerializeType.ROCKETMQ, remark: 'r', body: Buffer.from('b') })),
      encodeFrame(request({ serializeType: SerializeType.ROCKETMQ, extFields: { a: '1', bb: '22', ccc: '333' } })),
    ];
    const seed = Number(process.env.FUZZ_SEED ?? 1234);
    const rnd = prng(seed);
    let decoded = 0;
    for (let i = 0; i < 20_000; i++) {
      const b = Buffer.from(seeds[i % seeds.length]!);
      const kind = Math.floor(rnd() * 3);
      let input: Buffer;
      if (kind === 0) {
        for (let j = 0, n = 1 + Math.floor(rnd() * 6); j < n; j++) b[Math.floor(rnd() * b.length)]! ^= 1 << Math.floor(rnd() * 8);
        input = b;
      } else if (kind === 1) {
        input = b.subarray(0, Math.floor(rnd() * b.length));
      } else {
        input = Buffer.from(Array.from({ length: Math.floor(rnd() * 64) }, () => Math.floor(rnd() * 256)));
      }
      try {
        const s = new FrameSplitter(4096);
        for (const f of s.push(input)) {
          decodeFrame(f);
          decoded++;
        }
      } catch (err) {
        assert.ok(err instanceof FrameError, `seed ${seed} input ${i}: ${String(err)} for ${input.toString('hex')}`);
      }
    }
    assert.ok(decoded > 100, 'some mutated frames still decode (the fuzzer reaches the decoder)');
  });
});

describe('fastjson forms', () => {
  test('numeric map keys: unquoted in the default form, quoted and sorted in the standard form', () => {
    const v = { brokerAddrs: new NumberKeyMap([[1, 'b:1'], [0, 'a:1']]), zoneName: 'zé' };
    assert.equal(writeJson(v, false), '{"brokerAddrs":{1:"b:1",0:"a:1"},"zoneName":"zé"}');
    assert.equal(writeJson(v, true), '{"brokerAddrs":{"0":"a:1","1":"b:1"},"zoneName":"z\\u00e9"}');
    assert.deepEqual(parseLenientJson(writeJson(v, false)), { brokerAddrs: { 0: 'a:1', 1: 'b:1' }, zoneName: 'zé' });
  });

  test('the lenient parser leaves strings alone', () => {
    assert.deepEqual(parseLenientJson('{"a":"{1:2}", 7 :[1,2],"b":{-3:"x"}}'), { a: '{1:2}', 7: [1, 2], b: { '-3': 'x' } });
    assert.throws(() => parseLenientJson('{1:}'), SyntaxError);
  });
});

describe('register bodies and topic configs', () => {
  const rmqTopic = { topicName: 'orders', readQueueNums: 8, writeQueueNums: 4, perm: 7, topicFilterType: 'SINGLE_TAG', topicSysFlag: 2, order: true, attributes: { 'message.type': 'FIFO' } };

  test('the JSON body of a 5.x broker', () => {
    const body = Buffer.from(JSON.stringify({
      filterServerList: [],
      topicConfigSerializeWrapper: { dataVersion: { counter: 9, stateVersion: 0, timestamp: 1700000000000 }, topicConfigTable: { orders: rmqTopic } },
    }));
    const out = decodeRegisterBody(body, false, 513, 1 << 20);
    assert.deepEqual(out.dataVersion, { counter: 9, stateVersion: 0, timestamp: 1700000000000 });
    assert.deepEqual(out.topics, [rmqTopic]);
  });

  test('the DataVersion is read from the start of a body in the layout brokers write, else left to the full decoder', () => {
    // What RegisterBrokerBody.encode(false) of rocketmq-remoting 5.5.0 writes (fastjson: fields in name order).
    const java = '{"filterServerList":[],"topicConfigSerializeWrapper":{"dataVersion":{"counter":7,"stateVersion":0,"timestamp":1795999964319},"mappingDataVersion":{"counter":0,"stateVersion":0,"timestamp":1795999964311},"topicConfigTable":{"t":{"attributes":{},"order":false,"perm":6,"readQueueNums":8,"topicFilterType":"SINGLE_TAG","topicName":"t","topicSysFlag":0,"writeQueueNums":8}},"topicQueueMappingDetailMap":{},"topicQueueMappingInfoMap":{}}}';
    assert.deepEqual(peekDataVersion(Buffer.from(java)), { counter: 7, stateVersion: 0, timestamp: 1795999964319 });
    assert.deepEqual(peekDataVersion(Buffer.from(java)), decodeRegisterBody(Buffer.from(java), false, 513, 1 << 20).dataVersion, 'the same as the full decoder');
    assert.deepEqual(peekDataVersion(Buffer.from(java.replace('"filterServerList":[]', '"filterServerList":["10.0.0.1:9999"]'))), { counter: 7, stateVersion: 0, timestamp: 1795999964319 });
    // Any other layout: not read (the full decoder handles it).
    assert.equal(peekDataVersion(Buffer.from(JSON.stringify({ topicConfigSerializeWrapper: { dataVersion: { counter: 1, stateVersion: 0, timestamp: 1 } }, filterServerList: [] }))), undefined);
    assert.equal(peekDataVersion(Buffer.from('{"filterServerList":[],"topicConfigSerializeWrapper":{"dataVersion":{"counter":1}}}')), undefined, 'a partial DataVersion');
    assert.equal(peekDataVersion(Buffer.from('{"filterServerList":[],"topicConfigSerializeWrapper":{"dataVersion":{"counter":"x","stateVersion":0,"timestamp":1}}}')), undefined);
    assert.equal(peekDataVersion(Buffer.from('{"filterServerList":["a]"],"topicConfigSerializeWrapper":{"dataVersion":{"counter":1,"stateVersion":0,"timestamp":1}}}')), undefined);
    assert.equal(peekDataVersion(Buffer.from('nope')), undefined);
  });

  test('the compressed body (4.x compressedRegister): length-prefixed parts in a zlib stream', () => {
    const part = (s: string) => {
      const b = Buffer.from(s);
      const n = Buffer.alloc(4);
      n.writeInt32BE(b.length);
      return Buffer.concat([n, b]);
    };
    const count = Buffer.alloc(4);
    count.writeInt32BE(2);
    const raw = Buffer.concat([
      part('{"counter":3,"stateVersion":0,"timestamp":5}'),
      count,
      part('orders 8 4 6 SINGLE_TAG {}'),
      part('spaced 1 1 4 MULTI_TAG {"k":"a b"}'),
      part('[]'),
    ]);
    const out = decodeRegisterBody(deflateSync(raw), true, 401, 1 << 20);
    assert.deepEqual(out.dataVersion, { counter: 3, stateVersion: 0, timestamp: 5 });
    assert.deepEqual(out.topics.map((t) => [t.topicName, t.readQueueNums, t.writeQueueNums, t.perm, t.topicFilterType, t.attributes]), [
      ['orders', 8, 4, 6, 'SINGLE_TAG', {}],
      ['spaced', 1, 1, 4, 'MULTI_TAG', { k: 'a b' }],
    ]);
    assert.throws(() => decodeRegisterBody(deflateSync(raw.subarray(0, 30)), true, 401, 1 << 20), BodyError);
    assert.throws(() => decodeRegisterBody(deflateSync(Buffer.alloc(1 << 16)), true, 401, 1024), BodyError, 'inflation is bounded');
    assert.throws(() => decodeRegisterBody(Buffer.from('nope'), true, 401, 1 << 20), BodyError);
    assert.throws(() => decodeRegisterBody(Buffer.from('[1]'), false, 513, 1 << 20), BodyError);
  });

  test('topic configs keep what TopicConfig has no field for, and go back out as mqadmin sends them', () => {
    const c = toTopicConfig(rmqTopic);
    assert.equal(c.permission, Permission.PERMISSION_READ_WRITE);
    assert.equal(c.messageType, MessageType.MESSAGE_TYPE_FIFO);
    assert.equal(sysFlagOf(c), 2);
    assert.equal(rmqPerm(Permission.PERMISSION_READ, c), 4 | 1, 'the inherit bit survives, the write bit follows the effective permission');
    assert.deepEqual(createTopicFields(c), {
      topic: 'orders', defaultTopic: 'TBW102', readQueueNums: '8', writeQueueNums: '4', perm: '7',
      topicFilterType: 'SINGLE_TAG', topicSysFlag: '2', order: 'true', attributes: '+message.type=FIFO',
    });
    assert.deepEqual([0, 2, 4, 6].map(permissionOf), [Permission.PERMISSION_NONE, Permission.PERMISSION_WRITE, Permission.PERMISSION_READ, Permission.PERMISSION_READ_WRITE]);
  });

  test('version ordinals name releases', () => {
    assert.deepEqual([212, 401, 413, 513, 514, 37].map(versionName), ['4.0.0-SNAPSHOT', '4.9.4', '5.0.0', '5.5.0', '5.5.1-SNAPSHOT', 'ordinal 37']);
  });
});
