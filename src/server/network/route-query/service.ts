/** RouteQuery: the client-facing service. GetRoute answers from pre-encoded bytes (see encoded.ts). */
import { GetRoutesResponse, type GetRouteResponse, type RouteQueryServer } from '../../../../generated/nameserver/v1/route_query';
import { LimitExceeded } from '../../metadata/errors';
import { checkGetRouteRequest, checkGetRoutesRequest } from '../validate';
import { bidi, unary } from '../grpc/adapter';
import { encoded } from '../grpc/encoded';
import { GET_ROUTE_INCOMPLETE_SUFFIX } from '../../metadata/route-table';
import type { Config } from '../../config';
import type { MetadataCore } from '../../metadata/core';
import type { WarmUp } from '../../metadata/warm-up';
import type { StreamTracker } from '../grpc/adapter';
import { routeTooLargeMessage, type RouteWatchHub } from './watch';

/** What RouteQuery needs: the routes, the warm-up, the watch hub and the open-stream tracker. */
export interface RouteQueryDeps {
  readonly config: Readonly<Config>;
  readonly core: MetadataCore;
  readonly warmup: WarmUp;
  readonly streams: StreamTracker;
  readonly routeWatch: RouteWatchHub;
}

/** Build the RouteQuery implementation. */
export function routeQueryService(deps: RouteQueryDeps): RouteQueryServer {
  const { core, warmup } = deps;
  const maxBytes = deps.config.maxMessageBytes;
  const notFound = (topic: string) => warmup.missingRoute(topic);
  return {
    getRoute: unary('GetRoute', (req) => {
      checkGetRouteRequest(req);
      const entry = core.routes.get(req.topic);
      if (!entry) throw notFound(req.topic);
      // Named here; grpc-js would refuse to send it with a generic "Sent message larger than max".
      const bytes = entry.getRouteBytes; // assembled on first read, then cached: read once per call
      if (bytes.length > maxBytes) throw new LimitExceeded(routeTooLargeMessage(req.topic, bytes.length, maxBytes));
      // While warming up the route may lack replica sets: say so (the pre-encoded bytes plus the flag).
      return encoded<GetRouteResponse>(warmup.flagsRoutes ? Buffer.concat([bytes, GET_ROUTE_INCOMPLETE_SUFFIX]) : bytes);
    }),
    getRoutes: unary('GetRoutes', (req) => {
      checkGetRoutesRequest(req);
      // A GetRouteResponse is `route = 1`, exactly one element of GetRoutesResponse's `routes = 1`:
      // the answer is the pre-encoded routes concatenated, plus the small rest encoded here.
      const parts: Buffer[] = [];
      const notFound: string[] = [];
      for (const t of new Set(req.topics)) {
        const e = core.routes.get(t);
        if (e) parts.push(e.getRouteBytes);
        else notFound.push(t);
      }
      parts.push(Buffer.from(GetRoutesResponse.encode({ routes: [], notFound, warmingUp: warmup.active, mayBeIncomplete: warmup.flagsRoutes }).finish()));
      const size = parts.reduce((n, p) => n + p.length, 0);
      if (size > maxBytes) {
        throw new LimitExceeded(`the ${parts.length - 1} routes asked for are ${size} bytes encoded, more than this server sends in one message (${maxBytes} bytes, --max-message-bytes); ask for fewer topics`);
      }
      return encoded<GetRoutesResponse>(Buffer.concat(parts, size));
    }),
    watchRoutes: bidi('WatchRoutes', deps.streams, (call) => deps.routeWatch.serve(call)),
  };
}
