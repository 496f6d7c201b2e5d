/** Fuzz inputs: a seeded generator of raw protobuf frames for every RPC (see raw-frames.test.ts). */
import { AdminService, CreateTopicRequest, ListTopicsRequest } from '../../generated/nameserver/v1/admin';
import { BrokerRegistryService, ConnectRequest, RegisterBrokerRequest, ReportDeltaRequest, ReportPositionsRequest } from '../../generated/nameserver/v1/broker_registry';
import { GetRoutesRequest, RouteQueryService, WatchRoutesRequest } from '../../generated/nameserver/v1/route_query';
import { report, topic } from '../fixtures/reports';

/** Deterministic PRNG (mulberry32), so a failure can be replayed with FUZZ_SEED. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Method = { path: string; requestStream: boolean; responseStream: boolean };
export const METHODS: Method[] = [BrokerRegistryService, RouteQueryService, AdminService].flatMap((svc) =>
  Object.values(svc).map((m) => ({ path: m.path, requestStream: m.requestStream, responseStream: m.responseStream })),
);

/** Valid encodings to mutate, per method path (any message works as a seed for any method). */
const SEEDS: Buffer[] = [
  Buffer.from(RegisterBrokerRequest.encode(report('fz', 0, ['a', topic('b', { attributes: { k: 'v' } })])).finish()),
  Buffer.from(ReportDeltaRequest.encode({ cluster: 'c1', brokerName: 'fz', brokerId: 0, baseCounter: 1, dataVersion: { epoch: 'boot-fz-0', counter: 2 }, upsertTopics: [topic('c')], deleteTopics: ['a'], upsertGroups: [], deleteGroups: [] }).finish()),
  Buffer.from(ReportPositionsRequest.encode({ cluster: 'c1', brokerName: 'fz', brokerId: 0, full: true, queuePositions: [{ topic: 'a', queueId: 1, minOffset: 0, maxOffset: 9 }], consumerPositions: [] }).finish()),
  Buffer.from(ConnectRequest.encode({ seq: 1, body: { $case: 'register', register: report('fzs', 0, ['a']) } }).finish()),
  Buffer.from(WatchRoutesRequest.encode({ subscribe: [{ topic: 'a', version: 'x' }], unsubscribe: ['b'], allTopics: false }).finish()),
  Buffer.from(GetRoutesRequest.encode({ topics: ['a', 'b'] }).finish()),
  Buffer.from(CreateTopicRequest.encode({ topic: topic('n'), cluster: 'c1', brokerNames: [] }).finish()),
  Buffer.from(ListTopicsRequest.encode({ cluster: '', namePrefix: '', pageSize: 5, pageToken: '' }).finish()),
];

/** One fuzz input. */
export function input(rnd: () => number): Buffer {
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const randomBytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(rnd() * 256)));
  const seed = pick(SEEDS);
  switch (Math.floor(rnd() * 8)) {
    case 0:
      return randomBytes(Math.floor(rnd() * 64));
    case 1: {
      const b = Buffer.from(seed);
      for (let i = 0, n = 1 + Math.floor(rnd() * 4); i < n; i++) b[Math.floor(rnd() * b.length)]! ^= 1 << Math.floor(rnd() * 8);
      return b;
    }
    case 2:
      return seed.subarray(0, Math.floor(rnd() * seed.length));
    case 3:
      return Buffer.concat([seed, pick(SEEDS)]); // concatenation = merge, or garbage
    case 4: {
      const at = Math.floor(rnd() * seed.length);
      return Buffer.concat([seed.subarray(0, at), randomBytes(1 + Math.floor(rnd() * 8)), seed.subarray(at)]);
    }
    case 5: // invalid UTF-8 in a length-delimited field 1
      return Buffer.concat([Buffer.from([0x0a, 4]), Buffer.from([0xc3, 0x28, 0xff, 0xfe]), seed]);
    case 6: {
      // a repeated field many times over (field 1, length-delimited, "x")
      const n = 1 + Math.floor(rnd() * 20_000);
      return Buffer.concat([seed, Buffer.alloc(n * 3, Buffer.from([0x0a, 1, 0x78]))]);
    }
    default: {
      // deep nesting: field 2 wrapping itself
      let b = Buffer.from([0x08, 1]);
      for (let d = 0, n = 10 + Math.floor(rnd() * 200); d < n; d++) b = Buffer.concat([Buffer.from([0x12]), varint(b.length), b]);
      return b;
    }
  }
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

