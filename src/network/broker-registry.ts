/** BrokerRegistry: the broker-facing service. Thin adapters over the Registry (STYLE.md 2). */
import type { BrokerRegistryServer } from '../../generated/nameserver/v1/broker_registry';
import {
  checkHeartbeatRequest,
  checkRegisterBrokerRequest,
  checkReportDeltaRequest,
  checkReportInstancesRequest,
  checkReportPositionsRequest,
  checkUnregisterBrokerRequest,
} from '../metadata/validate';
import { brokerRef } from '../metadata/types';
import { bidi, unary } from './handler';
import { BrokerSession, chunkSource } from './broker-session';
import type { ServiceDeps } from './deps';

/** Build the BrokerRegistry implementation. */
export function brokerRegistryService(deps: ServiceDeps): BrokerRegistryServer {
  const { registry, config, serverId } = deps;
  const limits = { maxQueueNums: config.maxQueueNums };
  return {
    registerBroker: unary('RegisterBroker', (req, call) => {
      checkRegisterBrokerRequest(req, { limits });
      const out = registry.register(req, { kind: 'lease', source: chunkSource(call) });
      return {
        complete: out.complete,
        unchanged: out.unchanged,
        leaseTtlMs: out.leaseTtlMs,
        heartbeatIntervalMs: Math.min(config.heartbeatIntervalMs, Math.floor(out.leaseTtlMs / 3)),
        serverId,
        stale: out.stale,
      };
    }),
    heartbeat: unary('Heartbeat', (req) => {
      checkHeartbeatRequest(req);
      const ref = brokerRef(req.cluster, req.brokerName, req.brokerId);
      const reason = registry.heartbeat(ref, req.dataVersion!.epoch, req.dataVersion!.counter);
      // Renewed just now, so the lease left is the whole TTL; 0 when nothing was renewed (stream session).
      const lease = reason === undefined ? registry.brokers.liveness(ref.key) : undefined;
      const leaseTtlMs = lease && lease.leaseExpiresAtMs ? lease.leaseExpiresAtMs - lease.lastSeenAtMs : 0;
      return { reregisterRequired: reason !== undefined, reason: reason ?? '', leaseTtlMs, serverId };
    }),
    unregisterBroker: unary('UnregisterBroker', (req) => {
      checkUnregisterBrokerRequest(req);
      const reason = registry.unregister(brokerRef(req.cluster, req.brokerName, req.brokerId), req.epoch);
      return { removed: reason === undefined, reason: reason ?? '' };
    }),
    reportDelta: unary('ReportDelta', (req) => {
      checkReportDeltaRequest(req, { limits });
      const out = registry.delta(brokerRef(req.cluster, req.brokerName, req.brokerId), req);
      return { reregisterRequired: out.reregister !== undefined, reason: out.reregister ?? '', stale: out.stale };
    }),
    reportPositions: unary('ReportPositions', (req) => {
      checkReportPositionsRequest(req);
      const n = registry.reportPositions(brokerRef(req.cluster, req.brokerName, req.brokerId), req);
      return { acceptedQueuePositions: n.queues, acceptedConsumerPositions: n.consumers };
    }),
    reportInstances: unary('ReportInstances', (req) => {
      checkReportInstancesRequest(req);
      return { accepted: registry.reportInstances(brokerRef(req.cluster, req.brokerName, req.brokerId), req) };
    }),
    connect: bidi('Connect', deps.streams, (call) => {
      new BrokerSession(call, deps).start();
    }),
  };
}
