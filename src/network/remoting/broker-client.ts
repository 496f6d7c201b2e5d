/**
 * Admin writes to RocketMQ brokers, carried out as mqadmin does them: remoting requests to the broker's
 * own address (UPDATE_AND_CREATE_TOPIC, DELETE_TOPIC_IN_BROKER, UPDATE_BROKER_CONFIG for the broker
 * permission, UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, DELETE_SUBSCRIPTIONGROUP). A broker applies a topic
 * change and re-registers before it answers, so an OK means the routes already show it; a deleted topic
 * and a deleted group are not re-reported by RocketMQ brokers, so the NameServer forgets the topic itself
 * once the broker confirms. One connection per broker address, opened on demand and closed when idle.
 */
import net from 'node:net';
import type { BrokerResult } from '../../../generated/nameserver/v1/admin';
import type { Command } from '../../../generated/nameserver/v1/broker_registry';
import { CommandOutcome, ConsumeMode, Permission, type GroupConfig } from '../../../generated/nameserver/v1/common';
import type { Registry } from '../../metadata/registry';
import type { BrokerRef } from '../../metadata/types';
import type { RemotingBrokers } from './brokers';
import { RequestCode, ResponseCode } from './codes';
import { decodeFrame, encodeFrame, FrameError, FrameSplitter, isResponse, SerializeType, type RemotingCommand } from './frame';
import { writeJson } from './json';
import { createTopicFields, permBits } from './translate';

type Action = NonNullable<Command['action']>;

/** A connection to one broker address, matching responses to requests by opaque. */
class BrokerConnection {
  private readonly socket: net.Socket;
  private readonly pending = new Map<number, (r: RemotingCommand | Error) => void>();
  private nextOpaque = 1;
  private idle: NodeJS.Timeout | undefined;
  closed = false;

  constructor(readonly address: string, maxFrameBytes: number, private readonly idleMs: number, onClose: () => void) {
    const i = address.lastIndexOf(':');
    this.socket = net.connect({ host: address.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(address.slice(i + 1)) });
    this.socket.setNoDelay(true);
    const splitter = new FrameSplitter(maxFrameBytes);
    this.socket.on('data', (chunk: Buffer) => {
      try {
        for (const f of splitter.push(chunk)) {
          const cmd = decodeFrame(f);
          if (!isResponse(cmd)) continue;
          const done = this.pending.get(cmd.opaque);
          this.pending.delete(cmd.opaque);
          done?.(cmd);
        }
      } catch (err) {
        if (!(err instanceof FrameError)) throw err;
        this.socket.destroy(err);
      }
      this.armIdle();
    });
    this.socket.on('error', () => {});
    this.socket.once('close', () => {
      this.closed = true;
      clearTimeout(this.idle);
      for (const done of this.pending.values()) done(new Error(`connection to ${address} closed`));
      this.pending.clear();
      onClose();
    });
  }

  request(code: number, extFields: Record<string, string>, body: Buffer | undefined, deadlineMs: number): Promise<RemotingCommand> {
    const opaque = this.nextOpaque++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(opaque);
        reject(new Error(`no answer from ${this.address} before the deadline`));
      }, Math.max(0, deadlineMs - Date.now()));
      timer.unref();
      this.pending.set(opaque, (r) => {
        clearTimeout(timer);
        if (r instanceof Error) reject(r);
        else resolve(r);
      });
      clearTimeout(this.idle);
      this.socket.write(encodeFrame({ code, language: 'JAVA', version: 0, opaque, flag: 0, extFields, body, serializeType: SerializeType.JSON }));
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private armIdle(): void {
    clearTimeout(this.idle);
    if (this.pending.size > 0) return;
    this.idle = setTimeout(() => this.socket.end(), this.idleMs);
    this.idle.unref();
  }
}

/** SubscriptionGroupConfig JSON for a GroupConfig (fields RocketMQ has an equivalent for). */
function subscriptionGroup(g: GroupConfig): Buffer {
  const retries = g.retryPolicy?.maxAttempts ?? 0;
  return Buffer.from(
    writeJson(
      {
        consumeBroadcastEnable: g.consumeMode === ConsumeMode.CONSUME_MODE_BROADCASTING,
        consumeEnable: true,
        consumeMessageOrderly: g.consumeOrderly,
        groupName: g.name,
        retryMaxTimes: retries > 0 ? retries : 16,
      },
      true,
    ),
  );
}

/** Carries Admin commands to RocketMQ brokers (the CommandDispatcher's channel for them). */
export class RemotingBrokerClient {
  private readonly connections = new Map<string, BrokerConnection>();

  constructor(
    private readonly registry: Registry,
    private readonly brokers: RemotingBrokers,
    private readonly opts: { maxFrameBytes: number; idleMs?: number },
  ) {}

  /** Whether `target` is a broker registered over remoting (so its commands go through here). */
  serves(target: BrokerRef): boolean {
    return this.brokers.isRemoting(target.key);
  }

  /** Apply one Admin action on a RocketMQ broker; resolves with its per-broker result. */
  async apply(target: BrokerRef, action: Action, deadlineMs: number): Promise<BrokerResult> {
    const base = { cluster: target.cluster, brokerName: target.brokerName, brokerId: target.brokerId };
    const address = this.registry.brokers.get(target.key)?.addresses[0];
    if (!address) return { ...base, outcome: CommandOutcome.COMMAND_OUTCOME_NO_SESSION, message: `broker ${target.key} is not registered` };
    const req = this.request(action);
    let res: RemotingCommand;
    try {
      res = await this.connection(address).request(req.code, req.extFields, req.body, deadlineMs);
    } catch (err) {
      return { ...base, outcome: CommandOutcome.COMMAND_OUTCOME_TIMEOUT, message: (err as Error).message };
    }
    if (res.code !== ResponseCode.SUCCESS) {
      const outcome = res.code === ResponseCode.INVALID_PARAMETER ? CommandOutcome.COMMAND_OUTCOME_INVALID : CommandOutcome.COMMAND_OUTCOME_FAILED;
      return { ...base, outcome, message: `RocketMQ broker ${address} answered code ${res.code}${res.remark ? `: ${res.remark}` : ''}` };
    }
    // RocketMQ brokers do not re-register after a deletion: forget the topic on the replica set here.
    if (action.$case === 'deleteTopic') this.brokers.forgetTopic(action.deleteTopic.name, { cluster: target.cluster, brokerName: target.brokerName });
    return { ...base, outcome: CommandOutcome.COMMAND_OUTCOME_OK, message: '' };
  }

  /** Close every connection (shutdown). */
  close(): void {
    for (const c of this.connections.values()) c.close();
  }

  private request(action: Action): { code: number; extFields: Record<string, string>; body?: Buffer } {
    switch (action.$case) {
      case 'createTopic':
        return { code: RequestCode.UPDATE_AND_CREATE_TOPIC, extFields: createTopicFields(action.createTopic.topic!) };
      case 'updateTopic':
        return { code: RequestCode.UPDATE_AND_CREATE_TOPIC, extFields: createTopicFields(action.updateTopic.topic!) };
      case 'deleteTopic':
        return { code: RequestCode.DELETE_TOPIC_IN_BROKER, extFields: { topic: action.deleteTopic.name } };
      case 'createGroup':
        return { code: RequestCode.UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, extFields: {}, body: subscriptionGroup(action.createGroup.group!) };
      case 'updateGroup':
        return { code: RequestCode.UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, extFields: {}, body: subscriptionGroup(action.updateGroup.group!) };
      case 'deleteGroup':
        return { code: RequestCode.DELETE_SUBSCRIPTIONGROUP, extFields: { groupName: action.deleteGroup.name, cleanOffset: 'false' } };
      case 'setPermission': {
        const p = action.setPermission.permission || Permission.PERMISSION_READ_WRITE;
        return { code: RequestCode.UPDATE_BROKER_CONFIG, extFields: {}, body: Buffer.from(`brokerPermission=${permBits(p)}\n`) };
      }
    }
  }

  private connection(address: string): BrokerConnection {
    let c = this.connections.get(address);
    if (!c || c.closed) {
      c = new BrokerConnection(address, this.opts.maxFrameBytes, this.opts.idleMs ?? 30_000, () => {
        if (this.connections.get(address) === c) this.connections.delete(address);
      });
      this.connections.set(address, c);
    }
    return c;
  }
}
