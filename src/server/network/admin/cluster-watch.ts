/**
 * Admin.WatchCluster: a snapshot of live brokers (EXISTING … then `snapshot_done`), then brokers
 * joining, leaving and changing. Events are coalesced per broker (only its latest event is pending),
 * so a console that reads slowly costs memory bounded by the number of brokers; consoles treat
 * EXISTING/JOINED/UPDATED alike as "this broker is now like this".
 */
import type { ServerWritableStream } from '@grpc/grpc-js';
import {
  ClusterEventType,
  WatchClusterResponse,
  type WatchClusterRequest,
} from '../../../../generated/nameserver/v1/admin';
import type { BrokerState } from '../../metadata/broker-manager';
import { brokerInfo } from './views';
import { LimitExceeded } from '../../metadata/errors';
import type { MetadataCore } from '../../metadata/core';
import type { BrokerKey } from '../../metadata/types';
import { checkWatchClusterRequest } from '../validate';
import { CoalescingWriter, type Sink } from '../route-query/coalescing-writer';
import { checkDecoded, type StreamTracker } from '../grpc/adapter';
import { toStatus } from '../grpc/status';

type Call = ServerWritableStream<WatchClusterRequest, WatchClusterResponse>;

interface Pending {
  type: ClusterEventType;
  state: BrokerState;
  reason: string;
}

/** Cluster watchers and the broker events they follow. */
export class ClusterWatchHub {
  private readonly watchers = new Set<ClusterWatcher>();

  constructor(
    readonly core: MetadataCore,
    readonly stallTimeoutMs: number,
    readonly streams: StreamTracker,
  ) {
    const b = core.brokers;
    b.on('joined', (s) => this.publish(ClusterEventType.CLUSTER_EVENT_TYPE_JOINED, s, ''));
    b.on('updated', (s) => this.publish(ClusterEventType.CLUSTER_EVENT_TYPE_UPDATED, s, ''));
    b.on('left', (s, reason) => this.publish(ClusterEventType.CLUSTER_EVENT_TYPE_LEFT, s, reason));
  }

  /** Open watchers. */
  get size(): number {
    return this.watchers.size;
  }

  /** Serve one WatchCluster stream. */
  serve(call: Call): void {
    checkDecoded(call.request);
    checkWatchClusterRequest(call.request);
    const w = new ClusterWatcher(call, this);
    this.watchers.add(w);
    w.start();
  }

  /** @internal */
  drop(w: ClusterWatcher): void {
    this.watchers.delete(w);
  }

  private publish(type: ClusterEventType, state: BrokerState, reason: string): void {
    for (const w of this.watchers) w.push({ type, state, reason });
  }
}

/** One WatchCluster stream. */
class ClusterWatcher {
  private readonly pending = new Map<BrokerKey, Pending>();
  private readonly writer: CoalescingWriter<BrokerKey>;
  private snapshotSent = false;
  private closed = false;

  constructor(
    private readonly call: Call,
    private readonly hub: ClusterWatchHub,
  ) {
    this.writer = new CoalescingWriter<BrokerKey>(
      call as unknown as Sink,
      (key) => this.render(key),
      () => this.renderSnapshotDone(),
      {
        maxBatchBytes: 0, // one event per message: the response carries a single broker
        stallTimeoutMs: hub.stallTimeoutMs,
        onStall: () => {
          this.close();
          hub.streams.abortStalled(call, toStatus(new LimitExceeded(`console read nothing for ${hub.stallTimeoutMs} ms`), 'WatchCluster'));
        },
      },
    );
  }

  start(): void {
    for (const s of this.hub.core.brokers.all()) this.push({ type: ClusterEventType.CLUSTER_EVENT_TYPE_EXISTING, state: s, reason: '' });
    this.writer.progress();
    this.call.on('cancelled', () => this.close());
    this.call.on('close', () => this.close());
    this.call.on('error', () => this.close());
  }

  push(p: Pending): void {
    if (this.closed || (this.call.request.cluster && p.state.cluster !== this.call.request.cluster)) return;
    this.pending.set(p.state.key, p);
    this.writer.mark(p.state.key);
  }

  private render(key: BrokerKey): Buffer | undefined {
    const p = this.pending.get(key);
    if (!p) return undefined;
    this.pending.delete(key);
    return Buffer.from(
      WatchClusterResponse.encode({
        type: p.type,
        broker: brokerInfo(this.hub.core, p.state),
        reason: p.reason,
        snapshotDone: false,
      }).finish(),
    );
  }

  private renderSnapshotDone(): Buffer | undefined {
    if (this.snapshotSent) return undefined;
    this.snapshotSent = true;
    return Buffer.from(WatchClusterResponse.encode({ type: 0, broker: undefined, reason: '', snapshotDone: true }).finish());
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.writer.close();
    this.pending.clear();
    this.hub.drop(this);
  }
}
