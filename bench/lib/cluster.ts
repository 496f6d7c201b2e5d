/**
 * The simulated cluster the parts register: replica sets of leader + followers, reported over the
 * real BrokerRegistry API (unary RegisterBroker / ReportDelta) or handed to an in-process Registry.
 * Broker addresses are loopback strings: they are route data only, nothing connects to them.
 */
import * as grpc from '@grpc/grpc-js';
import {
  BrokerRegistryClient,
  type RegisterBrokerRequest,
  type ReportDeltaRequest,
} from '../../generated/nameserver/v1/broker_registry';
import { GetRouteRequest } from '../../generated/nameserver/v1/route_query';
import { call } from '../../test/helpers/server';
import { report, topic } from '../../test/fixtures/reports';

export const CLUSTER = 'c1';
/** The longest lease a broker may ask for: unary brokers stay registered through a whole part. */
export const LONG_LEASE_MS = 300_000;

/** Name of replica set i. */
export const setName = (i: number) => `rs-${String(i).padStart(3, '0')}`;

/** One broker's full report: `topics` on replica set `set`, replica `id` (0 = leader). */
export function brokerReport(set: number, id: number, topics: readonly string[], over: Partial<RegisterBrokerRequest> = {}): RegisterBrokerRequest {
  return report(setName(set), id, [...topics], {
    cluster: CLUSTER,
    addresses: [`127.0.${set % 250}.${id + 1}:${10911 + Math.floor(set / 250)}`],
    zone: `zone-${set % 3}`,
    dataVersion: { epoch: `boot-${set}-${id}`, counter: 1 },
    leaseTtlMs: LONG_LEASE_MS,
    ...over,
  });
}

/** Reports of `sets` replica sets × `replicas` replicas, every broker reporting `topics`. */
export function clusterReports(sets: number, replicas: number, topics: readonly string[]): RegisterBrokerRequest[] {
  const out: RegisterBrokerRequest[] = [];
  for (let s = 0; s < sets; s++) for (let r = 0; r < replicas; r++) out.push(brokerReport(s, r, topics));
  return out;
}

/** Split a report into `chunkCount` chunks (chunked registration of a big broker). */
export function chunked(req: RegisterBrokerRequest, chunkCount: number): RegisterBrokerRequest[] {
  const per = Math.ceil(req.topics.length / chunkCount);
  return Array.from({ length: chunkCount }, (_, i) => ({ ...req, topics: req.topics.slice(i * per, (i + 1) * per), chunkIndex: i, chunkCount }));
}

/** BrokerRegistry client of one NameServer. */
export function brokerClient(address: string): BrokerRegistryClient {
  return new BrokerRegistryClient(address, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': 64 << 20 });
}

/** Register reports (in order) over unary RegisterBroker; throws unless the last answer is complete. */
export async function registerAll(client: BrokerRegistryClient, reports: readonly RegisterBrokerRequest[]): Promise<void> {
  for (const r of reports) {
    const res = await call(client, 'registerBroker', r);
    if ((r.chunkCount <= 1 || r.chunkIndex === r.chunkCount - 1) && !res.complete) throw new Error(`registration of ${r.brokerName}/${r.brokerId} not complete`);
  }
}

/** A one-topic delta from broker (set, id): the topic now has `queues` read and write queues. */
export function queueDelta(set: number, id: number, topicName: string, queues: number, baseCounter: number): ReportDeltaRequest {
  return {
    cluster: CLUSTER,
    brokerName: setName(set),
    brokerId: id,
    baseCounter,
    dataVersion: { epoch: `boot-${set}-${id}`, counter: baseCounter + 1 },
    upsertTopics: [topic(topicName, { readQueueNums: queues, writeQueueNums: queues })],
    deleteTopics: [],
    upsertGroups: [],
    deleteGroups: [],
  };
}

/** A gRPC length-prefixed message: flag 0, 4-byte big-endian length, then the protobuf bytes. */
export function grpcFrame(message: Uint8Array): Buffer {
  const b = Buffer.alloc(5 + message.length);
  b.writeUInt32BE(message.length, 1);
  b.set(message, 5);
  return b;
}

/** Encoded GetRouteRequest{topic}. */
export function getRouteRequestBytes(topicName: string): Buffer {
  return Buffer.from(GetRouteRequest.encode({ topic: topicName }).finish());
}

const identity = (b: Buffer) => b;

/** One raw unary call (bytes in, bytes out) with grpc-js: the sanity check before a load run. */
export function rawUnary(address: string, method: string, request: Buffer, timeoutMs = 5_000): Promise<Buffer> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  return new Promise<Buffer>((resolve, reject) => {
    client.makeUnaryRequest(method, identity, identity, request, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => {
      client.close();
      if (err) reject(new Error(`${method} on ${address}: ${err.message}`));
      else resolve(res!);
    });
  });
}
