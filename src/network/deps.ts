/** What the network handlers are given: the metadata core and the server's lifecycle state. */
import type { Config } from '../config';
import type { Registry } from '../metadata/registry';
import type { WarmUp } from '../warmup';
import type { StreamTracker } from './handler';
import type { SessionDirectory } from './broker-session';
import type { ClusterWatchHub } from './cluster-watch';
import type { CommandDispatcher } from './commands';
import type { Guard } from './auth';
import type { RouteWatchHub } from './route-watch';

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
