/**
 * The RocketMQ remoting side of the benchmarks, on the NameServer's own frame codec
 * (src/server/network/remoting/frame.ts and json.ts): one connection with requests matched to responses
 * by opaque, that fails its requests when the peer closes (RocketMQ's NameServer closes a connection
 * whose frame exceeds 16 MiB), and the REGISTER_BROKER requests a RocketMQ 5.5.0 broker sends, with
 * the body in the exact form its fastjson writes (field names in order, `mappingDataVersion`,
 * `topicQueueMappingDetailMap` and `topicQueueMappingInfoMap` included; checked against
 * `RegisterBrokerBody.encode(false)` of rocketmq-remoting 5.5.0).
 */
import net from 'node:net';
import { crc32 } from 'node:zlib';
import { RequestCode } from '../../src/server/network/remoting/codes';
import { decodeFrame, encodeFrame, FrameSplitter, isResponse, SerializeType, type RemotingCommand } from '../../src/server/network/remoting/frame';
import { writeJson } from '../../src/server/network/remoting/json';

/** The header `version` RocketMQ 5.5.0 clients and brokers send (MQVersion.CURRENT_VERSION). */
export const V5_5_0 = 513;

/** One remoting connection to 127.0.0.1:port; requests matched to responses by opaque. */
export class RemotingConn {
  readonly socket: net.Socket;
  readonly connected: Promise<void>;
  readonly closed: Promise<void>;
  private readonly waiting = new Map<number, { resolve: (c: RemotingCommand) => void; reject: (e: Error) => void }>();
  private opaque = 1;
  private closeReason: Error | undefined;

  constructor(port: number, maxFrameBytes = 256 * 1024 * 1024) {
    this.socket = net.connect({ host: '127.0.0.1', port });
    this.socket.setNoDelay(true);
    this.connected = new Promise((resolve, reject) => {
      this.socket.once('connect', () => resolve());
      this.socket.once('error', reject);
    });
    this.connected.catch(() => undefined);
    const splitter = new FrameSplitter(maxFrameBytes);
    this.socket.on('data', (d: Buffer) => {
      for (const f of splitter.push(d)) {
        const cmd = decodeFrame(f);
        if (!isResponse(cmd)) continue;
        const w = this.waiting.get(cmd.opaque);
        this.waiting.delete(cmd.opaque);
        w?.resolve(cmd);
      }
    });
    this.socket.on('error', (err) => (this.closeReason ??= err));
    this.closed = new Promise((resolve) => {
      this.socket.once('close', () => {
        const err = new ConnectionClosed(`connection closed by the server${this.closeReason ? ` (${this.closeReason.message})` : ''}`);
        for (const w of this.waiting.values()) w.reject(err);
        this.waiting.clear();
        resolve();
      });
    });
  }

  /** Send a request; resolves with its response, rejects with ConnectionClosed if the peer closes first. */
  request(code: number, extFields: Record<string, string>, body?: Buffer, timeoutMs = 120_000, version = V5_5_0): Promise<RemotingCommand> {
    if (this.socket.destroyed) return Promise.reject(new ConnectionClosed('connection already closed'));
    const opaque = this.opaque++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(opaque);
        reject(new Error(`no response to code ${code} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(opaque, {
        resolve: (c) => {
          clearTimeout(timer);
          resolve(c);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.socket.write(encodeFrame({ code, language: 'JAVA', version, opaque, flag: 0, extFields, body, serializeType: SerializeType.JSON }));
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

/** The server closed the connection while a request waited (RocketMQ does so on a frame over its limit). */
export class ConnectionClosed extends Error {}

/** A broker as REGISTER_BROKER names it. */
export interface RmqBrokerId {
  cluster: string;
  brokerName: string;
  brokerId: number;
  /** host:port (route data only; nothing connects to it unless a real broker is there). */
  addr: string;
}

/** The register body a 5.5.0 broker sends for `topics` (each `queues` read and write queues, perm 6). */
export function registerBody(topics: readonly string[], dataVersion: { counter: number; timestamp: number }, queues = 8): Buffer {
  const table: Record<string, unknown> = {};
  for (const t of topics) {
    table[t] = { attributes: {}, order: false, perm: 6, readQueueNums: queues, topicFilterType: 'SINGLE_TAG', topicName: t, topicSysFlag: 0, writeQueueNums: queues };
  }
  const dv = { counter: dataVersion.counter, stateVersion: 0, timestamp: dataVersion.timestamp };
  return Buffer.from(
    writeJson(
      {
        filterServerList: [],
        topicConfigSerializeWrapper: { dataVersion: dv, mappingDataVersion: dv, topicConfigTable: table, topicQueueMappingDetailMap: {}, topicQueueMappingInfoMap: {} },
      },
      false,
    ),
    'utf8',
  );
}

/**
 * REGISTER_BROKER header fields of `b` for `body`, as BrokerOuterAPI sends them (crc32 with the sign bit
 * cleared). A broker sends heartbeatTimeoutMillis only in slave-acting-master mode; without it both
 * NameServers apply their own expiry.
 */
export function registerFields(b: RmqBrokerId, body: Buffer, heartbeatTimeoutMs?: number): Record<string, string> {
  return {
    brokerName: b.brokerName,
    brokerAddr: b.addr,
    clusterName: b.cluster,
    haServerAddr: b.addr.replace(/:\d+$/, ':10912'),
    brokerId: String(b.brokerId),
    ...(heartbeatTimeoutMs !== undefined ? { heartbeatTimeoutMillis: String(heartbeatTimeoutMs) } : {}),
    enableActingMaster: 'false',
    compressed: 'false',
    bodyCrc32: String(crc32(body) & 0x7fffffff),
  };
}

/** One REGISTER_BROKER; throws unless it is answered SUCCESS (ConnectionClosed if the server hung up). */
export async function registerBroker(conn: RemotingConn, b: RmqBrokerId, body: Buffer, heartbeatTimeoutMs?: number): Promise<RemotingCommand> {
  const res = await conn.request(RequestCode.REGISTER_BROKER, registerFields(b, body, heartbeatTimeoutMs), body);
  if (res.code !== 0) throw new Error(`REGISTER_BROKER ${b.brokerName}/${b.brokerId}: code ${res.code} ${res.remark ?? ''}`);
  return res;
}
