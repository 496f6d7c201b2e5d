/**
 * Brokers that registered over remoting: the front door's session state for them, and the adapter
 * from RocketMQ's registration rules to the Registry's. What is kept here is only what the protocol
 * needs and the Registry has no field for (the connection a broker registered on, its HA address, the
 * last RocketMQ DataVersion it sent); the broker itself, its topics and its liveness live in the
 * Registry like any other broker's.
 *
 * Sessions. A remoting broker's session is its TCP connection: the epoch of its registration names the
 * connection, so when the connection closes the broker is removed at once (fenced by that epoch: a
 * close never removes a registration made on a newer connection), and a broker that stops renewing
 * expires after its lease (the broker's heartbeatTimeoutMillis when it sends one, else
 * --remoting-broker-expiry-ms).
 *
 * Registration rules (RocketMQ 5.x). A REGISTER_BROKER adds or updates the topics it carries and never
 * removes others: brokers send increments (one changed topic) with the same code, and the NameServer
 * forgets a topic only on DELETE_TOPIC_IN_NAMESRV (or when the broker goes). A registration whose
 * DataVersion equals the one held only renews. Before a broker is registered, a registration of a
 * single topic is refused, as RocketMQ does (an increment must not stand in for the full table). The
 * Registry replaces a broker's topics on each full report, so this adapter hands it the union of the
 * topics held and those reported, under a counter it advances when the DataVersion changes.
 */
import { Permission, type TopicConfig } from '../../../../generated/nameserver/v1/common';
import type { RegisterBrokerRequest } from '../../../../generated/nameserver/v1/broker_registry';
import { log } from '../../log';
import { FailedPrecondition, InvalidArgument } from '../../metadata/errors';
import type { MetadataCore } from '../../metadata/core';
import { brokerKey, brokerRef, type BrokerKey, type BrokerRef } from '../../metadata/types';
import { checkRegisterBrokerRequest, checkTopicConfig } from '../validate';
import { versionName } from './codes';
import { sameDataVersion, toTopicConfig, type RegisterBody, type RmqDataVersion } from './translate';

/** The connection a request came on. */
export interface ConnectionRef {
  readonly id: number;
  /** Epoch of registrations made on this connection (unique per connection and process). */
  readonly epoch: string;
  readonly peer: string;
}

/** A REGISTER_BROKER request, decoded. */
export interface RegisterInput {
  cluster: string;
  brokerName: string;
  brokerId: number;
  brokerAddr: string;
  haServerAddr: string;
  zone: string;
  /** Version ordinal of the broker (the frame header's version). */
  version: number;
  /** The broker's own expiry, when it sends one (brokers in slave-acting-master mode). */
  heartbeatTimeoutMs: number | undefined;
  enableActingMaster: boolean;
  body: RegisterBody;
}

/** What REGISTER_BROKER answers. */
export interface RegisterResult {
  haServerAddr: string;
  masterAddr: string;
  /** Topics left out because they break the NameServer's rules (logged). */
  skipped: string[];
}

interface Held {
  ref: BrokerRef;
  epoch: string;
  connection: number;
  haServerAddr: string;
  dataVersion: RmqDataVersion;
  enableActingMaster: boolean;
}

/** Settings of the directory. */
export interface RemotingBrokersOptions {
  /** Lease of a broker that sends no heartbeatTimeoutMillis. */
  expiryMs: number;
  maxQueueNums: number;
}

/** See the module comment. */
/**
 * Whether a registration on `conn` with DataVersion `dv` only renews the broker: the registration held
 * (`prior`) was made on this connection with that DataVersion, and the core holds it under the same epoch.
 */
function renews(conn: ConnectionRef, prior: Held | undefined, coreEpoch: string | undefined, dv: RmqDataVersion): boolean {
  return prior?.epoch === conn.epoch && coreEpoch === conn.epoch && sameDataVersion(prior.dataVersion, dv);
}

export class RemotingBrokers {
  private readonly held = new Map<BrokerKey, Held>();
  private readonly byConnection = new Map<number, Set<BrokerKey>>();
  private rev = 0;

  constructor(
    private readonly core: MetadataCore,
    private readonly opts: RemotingBrokersOptions,
  ) {
    // A broker that left the registry any way (expiry, Admin, another front door) is forgotten here.
    core.brokers.on('left', (state) => {
      const h = this.held.get(state.key);
      if (h && h.epoch === state.epoch) this.forget(state.key);
    });
  }

  /**
   * Moves whenever what this directory holds for a broker may have changed (a registration that was not
   * an unchanged renewal, a broker forgotten): route answers, which show enableActingMaster, may be
   * cached under it with the route table's revision.
   */
  get revision(): number {
    return this.rev;
  }

  /** Number of brokers registered over remoting. */
  get size(): number {
    return this.held.size;
  }

  /** Whether the registry's current registration of `key` was made over remoting. */
  isRemoting(key: BrokerKey): boolean {
    const h = this.held.get(key);
    return h !== undefined && this.core.brokers.get(key)?.epoch === h.epoch;
  }

  /** HA address a remoting broker registered with ('' if none or not a remoting broker). */
  haServerAddr(key: BrokerKey): string {
    return this.isRemoting(key) ? this.held.get(key)!.haServerAddr : '';
  }

  /** Whether the broker registered with slave-acting-master on. */
  enableActingMaster(key: BrokerKey): boolean {
    return this.isRemoting(key) && this.held.get(key)!.enableActingMaster;
  }

  /**
   * Whether a REGISTER_BROKER on `conn` with DataVersion `dv` would only renew the broker: it holds the
   * registration made on this connection, with that DataVersion (RocketMQ then ignores the topics sent).
   */
  isUnchanged(conn: ConnectionRef, ref: BrokerRef, dv: RmqDataVersion): boolean {
    return renews(conn, this.held.get(ref.key), this.core.brokers.get(ref.key)?.epoch, dv);
  }

  /** Apply a REGISTER_BROKER. Throws DomainErrors (answered as SYSTEM_ERROR with the message). */
  register(conn: ConnectionRef, input: RegisterInput): RegisterResult {
    const ref = brokerRef(input.cluster, input.brokerName, input.brokerId);
    const state = this.core.brokers.get(ref.key);
    const prior = this.held.get(ref.key);
    if (!state && input.body.topics.length === 1) {
      throw new FailedPrecondition(`register broker failed: ${ref.key} must register its full topic table before a single-topic registration`);
    }
    const sameEpoch = state?.epoch === conn.epoch;
    const unchanged = renews(conn, prior, state?.epoch, input.body.dataVersion);
    const skipped: string[] = [];
    let topics: TopicConfig[] = [];
    if (!unchanged) {
      const merged = new Map<string, TopicConfig>();
      if (state) for (const t of this.topicsOf(ref.key)) merged.set(t.name, t);
      for (const rt of input.body.topics) {
        const t = toTopicConfig(rt);
        try {
          checkTopicConfig(t, 'topic', { maxQueueNums: this.opts.maxQueueNums });
          merged.set(t.name, t);
        } catch (err) {
          if (!(err instanceof InvalidArgument)) throw err;
          skipped.push(rt.topicName);
        }
      }
      topics = [...merged.values()];
    }
    if (skipped.length > 0) {
      log.warn({ broker: ref.key, skipped: skipped.slice(0, 10), count: skipped.length }, 'remoting: topics that break the NameServer\'s rules were left out of a registration');
    }
    const req: RegisterBrokerRequest = {
      cluster: input.cluster,
      brokerName: input.brokerName,
      brokerId: input.brokerId,
      addresses: [input.brokerAddr],
      zone: input.zone,
      softwareVersion: `RocketMQ ${versionName(input.version)}`,
      dataVersion: { epoch: conn.epoch, counter: unchanged ? state!.counter : sameEpoch ? state!.counter + 1 : 1 },
      topics,
      groups: [],
      permission: Permission.PERMISSION_UNSPECIFIED,
      chunkIndex: 0,
      chunkCount: 0,
      leaseTtlMs: input.heartbeatTimeoutMs ?? this.opts.expiryMs,
    };
    checkRegisterBrokerRequest(req, { limits: { maxQueueNums: this.opts.maxQueueNums } });
    const out = this.core.register(req, { kind: 'lease' });
    if (prior && prior.connection !== conn.id) this.byConnection.get(prior.connection)?.delete(ref.key);
    if (!unchanged || prior?.enableActingMaster !== input.enableActingMaster) this.rev++;
    this.held.set(ref.key, {
      ref,
      epoch: conn.epoch,
      connection: conn.id,
      haServerAddr: input.haServerAddr,
      dataVersion: input.body.dataVersion,
      enableActingMaster: input.enableActingMaster,
    });
    let keys = this.byConnection.get(conn.id);
    if (!keys) this.byConnection.set(conn.id, (keys = new Set()));
    keys.add(ref.key);
    if (out.fresh) log.info({ broker: ref.key, address: input.brokerAddr, peer: conn.peer, topics: topics.length }, 'remoting: broker registered');
    return { ...this.leaderOf(ref), skipped };
  }

  /** BROKER_HEARTBEAT: renew the broker at this address. Returns whether one was renewed. */
  heartbeat(cluster: string, brokerName: string, brokerId: number | undefined, brokerAddr: string): boolean {
    const s = this.find(cluster, brokerName, brokerId, brokerAddr);
    if (!s) return false;
    return this.core.heartbeat(brokerRef(s.cluster, s.brokerName, s.brokerId), s.epoch, s.counter) === undefined;
  }

  /**
   * QUERY_DATA_VERSION: whether the broker's DataVersion differs from the one held (true when not held),
   * and the one held. Renews the broker, as RocketMQ does.
   */
  queryDataVersion(cluster: string, brokerName: string, brokerId: number | undefined, brokerAddr: string, dv: RmqDataVersion): { changed: boolean; held: RmqDataVersion | undefined } {
    const s = this.find(cluster, brokerName, brokerId, brokerAddr);
    const h = s ? this.held.get(s.key) : undefined;
    const current = h && h.epoch === s!.epoch ? h.dataVersion : undefined;
    if (s) this.core.heartbeat(brokerRef(s.cluster, s.brokerName, s.brokerId), s.epoch, s.counter);
    return { changed: !sameDataVersion(current, dv), held: current };
  }

  /** UNREGISTER_BROKER: remove the broker registered at this address. Returns whether one was removed. */
  unregister(cluster: string, brokerName: string, brokerId: number, brokerAddr: string): boolean {
    const s = this.find(cluster, brokerName, brokerId, brokerAddr);
    if (!s) return false;
    return this.core.unregister(brokerRef(s.cluster, s.brokerName, s.brokerId), s.epoch) === undefined;
  }

  /** A connection closed: every broker registered on it goes at once (unless a newer connection holds it). */
  connectionClosed(conn: ConnectionRef): void {
    const keys = this.byConnection.get(conn.id);
    if (!keys) return;
    this.byConnection.delete(conn.id);
    for (const key of keys) {
      const h = this.held.get(key);
      if (!h || h.connection !== conn.id) continue;
      if (this.core.unregister(h.ref, h.epoch) === undefined) {
        log.info({ broker: key, peer: conn.peer }, 'remoting: broker connection closed; broker removed');
      }
      if (this.held.get(key) === h) this.forget(key);
    }
  }

  /**
   * Forget topics of remoting brokers (DELETE_TOPIC_IN_NAMESRV, or after a DELETE_TOPIC_IN_BROKER the
   * NameServer sent): on every remoting broker that holds them, in `cluster` if given. Returns how many
   * brokers changed.
   */
  forgetTopic(topic: string, filter: { cluster?: string; brokerName?: string } = {}): number {
    let n = 0;
    for (const key of [...(this.core.topics.holders(topic)?.keys() ?? [])]) {
      const s = this.core.brokers.get(key);
      if (!s || !this.isRemoting(key)) continue;
      if (filter.cluster && s.cluster !== filter.cluster) continue;
      if (filter.brokerName && s.brokerName !== filter.brokerName) continue;
      if (this.delta(key, [], [topic])) n++;
    }
    return n;
  }

  /**
   * REGISTER_TOPIC_IN_NAMESRV: add or update a topic on the lowest-id remoting broker of each named
   * replica set (the one whose config the route shows). Returns how many brokers changed.
   */
  upsertTopic(config: TopicConfig, brokerNames: readonly string[]): number {
    checkTopicConfig(config, 'topic', { maxQueueNums: this.opts.maxQueueNums });
    let n = 0;
    for (const name of new Set(brokerNames)) {
      const first = this.core.brokers.all()
        .filter((s) => s.brokerName === name && this.isRemoting(s.key))
        .sort((a, b) => a.brokerId - b.brokerId)[0];
      if (first && this.delta(first.key, [config], [])) n++;
    }
    return n;
  }

  /** Topics the registry holds for a broker. */
  private topicsOf(key: BrokerKey): TopicConfig[] {
    const out: TopicConfig[] = [];
    for (const name of this.core.topics.namesOf(key)) {
      const c = this.core.topics.configOf(key, name);
      if (c) out.push(c);
    }
    return out;
  }

  /** Apply a topic change the broker did not report itself, on top of the version held. */
  private delta(key: BrokerKey, upsert: TopicConfig[], remove: string[]): boolean {
    const s = this.core.brokers.get(key);
    if (!s) return false;
    const reason = this.core.delta(brokerRef(s.cluster, s.brokerName, s.brokerId), {
      cluster: s.cluster,
      brokerName: s.brokerName,
      brokerId: s.brokerId,
      baseCounter: s.counter,
      dataVersion: { epoch: s.epoch, counter: s.counter + 1 },
      upsertTopics: upsert,
      deleteTopics: remove,
      upsertGroups: [],
      deleteGroups: [],
    });
    return reason === undefined;
  }

  /** The leader's addresses for a follower's answer (RocketMQ: masterAddr and the master's HA address). */
  private leaderOf(ref: BrokerRef): { haServerAddr: string; masterAddr: string } {
    if (ref.brokerId === 0) return { haServerAddr: '', masterAddr: '' };
    const leader = this.core.brokers.get(brokerKey(ref.cluster, ref.brokerName, 0));
    if (!leader) return { haServerAddr: '', masterAddr: '' };
    return { haServerAddr: this.haServerAddr(leader.key), masterAddr: leader.addresses[0] ?? '' };
  }

  /** The registered broker with this identity (or, without an id, this address in the replica set). */
  private find(cluster: string, brokerName: string, brokerId: number | undefined, brokerAddr: string) {
    const candidates = brokerId === undefined
      ? this.core.brokers.replicaSet(cluster, brokerName)
      : [this.core.brokers.get(brokerKey(cluster, brokerName, brokerId))];
    return candidates.find((s) => s !== undefined && s.addresses[0] === brokerAddr);
  }

  private forget(key: BrokerKey): void {
    const h = this.held.get(key);
    if (!h) return;
    this.held.delete(key);
    this.rev++;
    const keys = this.byConnection.get(h.connection);
    keys?.delete(key);
    if (keys?.size === 0) this.byConnection.delete(h.connection);
  }
}

