/**
 * One place assembles the NameServer and owns its lifecycle: the metadata core, the three
 * services, health and reflection, the warm-up, and an orderly stop (health NOT_SERVING first, open
 * streams ended with UNAVAILABLE, then the listener).
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { AdminService } from '../../generated/nameserver/v1/admin';
import { BrokerRegistryService } from '../../generated/nameserver/v1/broker_registry';
import { RouteQueryService } from '../../generated/nameserver/v1/route_query';
import type { Config } from './config';
import { log } from './log';
import { ShuttingDown } from './metadata/errors';
import { MetadataCore } from './metadata/core';
import type { BrokerState } from './metadata/broker-manager';
import { permissionToJSON } from '../../generated/nameserver/v1/common';
import { adminService } from './network/admin/service';
import { brokerRegistryService } from './network/broker-registry/service';
import { SessionDirectory } from './network/broker-registry/session';
import { acceptingEncoded, tolerantDecoding } from './network/grpc/encoded';
import { bidi, refuse, StreamTracker } from './network/grpc/adapter';
import { DescriptorIndex, REFLECTION_SERVICES, reflectionHandler } from './network/grpc/reflection';
import { routeQueryService } from './network/route-query/service';
import { RouteWatchHub } from './network/route-query/watch';
import { ClusterWatchHub } from './network/admin/cluster-watch';
import { CommandDispatcher } from './network/admin/commands';
import { Guard, INTERNAL_METADATA } from './network/grpc/auth';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { toStatus } from './network/grpc/status';
import { WarmUp } from './metadata/warm-up';
import { Metrics } from './metrics';
import { PeerRateLimiter } from './network/grpc/rate-limit';
import { serverInterceptors } from './network/grpc/interceptors';
import { startHttp } from './http';
import { createConsole } from '../console';
import type http from 'node:http';
import { SharedPort } from './network/shared-port';
import { RemotingDoor } from './network/remoting/door';
import { RemotingBrokers } from './network/remoting/brokers';
import { RemotingBrokerClient } from './network/remoting/broker-client';
import { RemotingAcl } from './network/remoting/acl';
import { KvStore } from './network/remoting/kv-store';

const SERVICE_NAMES = ['nameserver.v1.BrokerRegistry', 'nameserver.v1.RouteQuery', 'nameserver.v1.Admin'];

/** Plaintext, TLS, or mutual TLS, from the configured PEM files. */
export function serverCredentials(c: Readonly<Config>): grpc.ServerCredentials {
  if (!c.tlsCertFile && !c.tlsKeyFile) {
    if (c.tlsClientCaFile) throw new Error('--tls-client-ca needs --tls-cert and --tls-key');
    return grpc.ServerCredentials.createInsecure();
  }
  if (!c.tlsCertFile || !c.tlsKeyFile) throw new Error('TLS needs both --tls-cert and --tls-key');
  const ca = c.tlsClientCaFile ? readFileSync(c.tlsClientCaFile) : null;
  return grpc.ServerCredentials.createSsl(ca, [{ cert_chain: readFileSync(c.tlsCertFile), private_key: readFileSync(c.tlsKeyFile) }], ca !== null);
}

/** A running (or runnable) NameServer. */
export class NameServer {
  readonly serverId = randomBytes(8).toString('hex');
  readonly core: MetadataCore;
  readonly warmup: WarmUp;
  readonly streams: StreamTracker;
  readonly sessions = new SessionDirectory();
  readonly routeWatch: RouteWatchHub;
  readonly clusterWatch: ClusterWatchHub;
  readonly commands: CommandDispatcher;
  private readonly server: grpc.Server;
  private readonly health = new HealthImplementation({ '': 'NOT_SERVING' });
  private readonly startedAtMs = Date.now();
  private stopping: Promise<void> | undefined;
  readonly metrics: Metrics;
  private http: http.Server | undefined;
  private httpPortBound = 0;
  private privateDir: string | undefined;
  private readonly guard: Guard;
  private boundPort = 0;
  /** RocketMQ brokers registered over the remoting door. */
  readonly remotingBrokers: RemotingBrokers;
  readonly remoting: RemotingDoor;
  private readonly remotingClient: RemotingBrokerClient;
  private sharedPort: SharedPort | undefined;

  constructor(readonly config: Readonly<Config>) {
    this.streams = new StreamTracker({
      maxStreams: config.maxStreams,
      maxStreamsPerConnection: config.maxStreamsPerConnection,
      maxStalledStreamsPerConnection: config.maxStalledStreamsPerConnection,
    });
    // Closures read fields assigned below; they only run once the server is serving.
    this.core = new MetadataCore({ ...config, onReport: (kind, n) => this.metrics.reportTopics.observe({ kind }, n) });
    this.warmup = new WarmUp(config.warmupMs, this.core.routes);
    this.metrics = new Metrics({
      core: this.core,
      warmup: this.warmup,
      sessions: () => this.sessions.size,
      watchStreams: () => this.routeWatch.size,
      watchSubscriptions: () => this.routeWatch.subscriptions(),
      clusterWatchers: () => this.clusterWatch.size,
      openStreams: () => this.streams.size,
      pendingCommands: () => this.commands.size,
      remotingConnections: () => this.remoting.connections,
    });
    const guard = (this.guard = new Guard({ broker: config.brokerToken, admin: config.adminToken, client: config.clientToken }));
    const limiter = new PeerRateLimiter(config.peerRequestsPerSecond);
    this.server = new grpc.Server({
      'grpc.max_receive_message_length': config.maxMessageBytes,
      'grpc.max_send_message_length': config.maxMessageBytes,
      // Server-initiated HTTP/2 pings find hung brokers (SIGSTOP, half-open TCP) whose stream never ends.
      'grpc.keepalive_time_ms': config.keepaliveTimeMs,
      'grpc.keepalive_timeout_ms': config.keepaliveTimeoutMs,
      // channelz (grpc-js's introspection service, not served here) keeps a trace and call counters per
      // connection: about 1 KB of heap per client at tens of thousands (bench/results/capacity.md).
      'grpc.enable_channelz': 0,
      // Metrics and error logging, the per-peer rate limit, authentication: once, for every service.
      interceptors: serverInterceptors({ metrics: this.metrics, limiter, guard }),
    });
    this.routeWatch = new RouteWatchHub(this.core.routes, this.warmup, {
      progressIntervalMs: config.watchProgressIntervalMs,
      stallTimeoutMs: config.watchStallTimeoutMs,
      maxSubscriptionsPerStream: config.maxSubscriptionsPerStream,
      maxSubscriptionsPerConnection: config.maxSubscriptionsPerConnection,
      maxSubscriptions: config.maxSubscriptions,
      // One default HTTP/2 stream window (64 KiB): a batch is what a client can take at once, and a
      // client that takes nothing holds at most one batch until it is reset for stalling.
      maxBatchBytes: 64 * 1024,
      maxMessageBytes: config.maxMessageBytes,
      streams: this.streams,
      serverId: this.serverId,
      metrics: this.metrics,
    });
    this.clusterWatch = new ClusterWatchHub(this.core, config.watchStallTimeoutMs, this.streams);
    this.commands = new CommandDispatcher(this.sessions);
    // The RocketMQ remoting door: same registry, same command path (RocketMQ brokers take commands as
    // requests to their own address), same tokens.
    this.remotingBrokers = new RemotingBrokers(this.core, { expiryMs: config.remotingBrokerExpiryMs, maxQueueNums: config.maxQueueNums });
    this.remotingClient = new RemotingBrokerClient(this.core, this.remotingBrokers, { maxFrameBytes: config.remotingMaxFrameBytes });
    this.commands.useChannel(this.remotingClient);
    this.remoting = new RemotingDoor(
      { config, core: this.core, warmup: this.warmup, brokers: this.remotingBrokers, kv: new KvStore(), commands: this.commands },
      new RemotingAcl({ broker: config.brokerToken, admin: config.adminToken, client: config.clientToken }),
      { maxConnections: config.remotingMaxConnections, maxFrameBytes: config.remotingMaxFrameBytes, peerRequestsPerSecond: config.remotingPeerRequestsPerSecond },
      this.serverId,
    );
    this.remoting.on('answered', (request, response) => this.metrics.remotingRequests.inc(request, response));
    // Definitions: responses may be pre-encoded bytes; undecodable requests become INVALID_ARGUMENT.
    const serve = (service: grpc.ServiceDefinition, impl: grpc.UntypedServiceImplementation) => this.server.addService(tolerantDecoding(acceptingEncoded(service)), impl);
    const { core, warmup, streams, sessions, commands, serverId, startedAtMs } = this;
    serve(BrokerRegistryService, brokerRegistryService({ config, core, streams, sessions, commandResults: commands, serverId }));
    serve(RouteQueryService, routeQueryService({ config, core, warmup, streams, routeWatch: this.routeWatch }));
    serve(AdminService, adminService({ config, core, warmup, streams, clusterWatch: this.clusterWatch, commands, guard, serverId, startedAtMs }));
    // Health Watch streams are tracked like ours, so shutdown ends them (after they saw NOT_SERVING)
    // instead of waiting for the shutdown grace.
    this.health.addToServer({
      addService: (service: grpc.ServiceDefinition, impl: grpc.UntypedServiceImplementation) =>
        this.server.addService(service, {
          ...impl,
          watch: (call: grpc.ServerWritableStream<unknown, unknown>) => {
            try {
              this.streams.add(call);
            } catch (err) {
              refuse(call, toStatus(err, 'Health/Watch'));
              return;
            }
            (impl.watch as grpc.handleServerStreamingCall<unknown, unknown>)(call);
          },
        }),
    } as unknown as Parameters<HealthImplementation['addToServer']>[0]);
    // Reflection describes our services, health, and itself, from the descriptors buf compiled.
    const reflection = DescriptorIndex.load([...SERVICE_NAMES, 'grpc.health.v1.Health', ...REFLECTION_SERVICES.map((r) => r.name)]);
    for (const r of REFLECTION_SERVICES) {
      this.server.addService(r.definition, { serverReflectionInfo: bidi(`${r.name}/ServerReflectionInfo`, this.streams, reflectionHandler(reflection)) });
    }
    this.warmup.on('done', () => {
      log.info({ event: 'warmup.done', brokers: this.core.brokers.size, topics: this.core.routes.size }, 'warm-up over: serving');
      this.setServing('SERVING');
    });
    this.logMembership();
  }

  /** One log line per broker that joins, changes (addresses, permission, zone, version) or leaves, and why. */
  private logMembership(): void {
    const fields = (s: BrokerState) => ({ broker: s.key, addresses: s.addresses, session: s.sessionKind, epoch: s.epoch });
    this.core.brokers.on('joined', (s) => log.info({ event: 'broker.joined', ...fields(s), zone: s.zone, version: s.softwareVersion }, `broker ${s.key} joined`));
    this.core.brokers.on('updated', (s, prev) => {
      const changed = (['addresses', 'permission', 'zone', 'softwareVersion'] as const).filter((k) => JSON.stringify(s[k]) !== JSON.stringify(prev[k]));
      log.info({ event: 'broker.updated', ...fields(s), changed, permission: permissionToJSON(s.permission) }, `broker ${s.key} changed: ${changed.join(', ')}`);
    });
    this.core.brokers.on('left', (s, reason) => log.info({ event: 'broker.left', ...fields(s), reason }, `broker ${s.key} left: ${reason}`));
  }

  /** The bound port of the operations HTTP server (0 when off). */
  get httpPort(): number {
    return this.httpPortBound;
  }

  /** The bound port (after start). */
  get port(): number {
    return this.boundPort;
  }

  /** Bind and start serving. Resolves with the bound port (useful with port 0). */
  async start(): Promise<number> {
    // One port for gRPC and RocketMQ remoting (network/shared-port.ts tells them apart).
    const credentials = serverCredentials(this.config);
    this.sharedPort = new SharedPort(this.server.createConnectionInjector(credentials), this.remoting, Boolean(this.config.tlsCertFile));
    this.boundPort = await this.sharedPort.listen(this.config.listen);
    if (this.config.httpListen) {
      const routes = this.config.console
        ? [createConsole({ target: await this.privateListener(), credentials: grpc.credentials.createInsecure(), internal: { key: INTERNAL_METADATA, value: this.guard.internalSecret } })]
        : [];
      const h = await startHttp(this.config.httpListen, this.metrics, () => !this.warmup.active && !this.stopping, routes);
      this.http = h.server;
      this.httpPortBound = h.port;
    }
    this.setServing(this.warmup.active ? 'NOT_SERVING' : 'SERVING');
    log.info({ listen: this.config.listen, port: this.boundPort, ...(this.http ? { httpPort: this.httpPortBound } : {}), serverId: this.serverId, warmupMs: this.config.warmupMs }, 'NameServer listening');
    return this.boundPort;
  }

  /**
   * A unix socket in a private (0700) directory, served without TLS, for this process's own clients
   * (the console gateway): it works whatever TLS the public listener uses, and no other user can reach
   * it. The same services, tokens and checks apply.
   */
  private async privateListener(): Promise<string> {
    this.privateDir = mkdtempSync(path.join(tmpdir(), 'nameserver-'));
    const target = `unix:${path.join(this.privateDir, 'grpc.sock')}`;
    await new Promise<void>((resolve, reject) =>
      this.server.bindAsync(target, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
    );
    return target;
  }

  /** Stop: health NOT_SERVING, end open streams with UNAVAILABLE, then close the listener. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    log.info({ openStreams: this.streams.size }, 'NameServer stopping');
    this.warmup.finish();
    this.setServing('NOT_SERVING');
    this.streams.endAll(toStatus(new ShuttingDown(), 'shutdown'));
    this.sharedPort?.close();
    this.remoting.close();
    this.remotingClient.close();
    this.core.close();
    this.routeWatch.close();
    this.http?.close();
    this.http?.closeAllConnections();
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        log.warn('shutdown grace elapsed: closing remaining connections');
        this.server.forceShutdown();
        resolve();
      }, this.config.shutdownGraceMs);
      force.unref();
      this.server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
    if (this.privateDir) rmSync(this.privateDir, { recursive: true, force: true });
    log.info('NameServer stopped');
  }

  private setServing(status: 'SERVING' | 'NOT_SERVING'): void {
    this.health.setStatus('', status);
    for (const name of SERVICE_NAMES) this.health.setStatus(name, status);
  }
}
