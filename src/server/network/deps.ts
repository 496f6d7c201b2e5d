/** What the network handlers are given: the metadata core and the server's lifecycle state. */
import type { Config } from '../config';
import type { Registry } from '../metadata/registry';
import type { WarmUp } from '../warmup';
import type { StreamTracker } from './grpc/adapter';
import type { SessionDirectory } from './broker-registry/session';
import type { ClusterWatchHub } from './admin/cluster-watch';
import type { CommandDispatcher } from './admin/commands';
import type { Guard } from './grpc/auth';
import type { RouteWatchHub } from './route-query/watch';

/** Shared dependencies of the three services. */
export interface ServiceDeps {
  readonly config: Readonly<Config>;
  readonly registry: Registry;
  readonly warmup: WarmUp;
  readonly streams: StreamTracker;
  readonly sessions: SessionDirectory;
  readonly routeWatch: RouteWatchHub;
  readonly clusterWatch: ClusterWatchHub;
  readonly commands: CommandDispatcher;
  readonly guard: Guard;
  /** Random id of this process, so clients and brokers can tell replicas and restarts apart. */
  readonly serverId: string;
  readonly startedAtMs: number;
}
