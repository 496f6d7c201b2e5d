/** RouteQuery: the client-facing service. GetRoute answers from pre-encoded bytes (see encoded.ts). */
import { GetRoutesResponse, type GetRouteResponse, type RouteQueryServer } from '../../generated/nameserver/v1/route_query';
import { LimitExceeded, TopicNotFound, WarmingUp } from '../metadata/errors';
import { checkGetRouteRequest, checkGetRoutesRequest } from '../metadata/validate';
import { bidi, unary } from './handler';
import { encoded } from './encoded';
import { GET_ROUTE_INCOMPLETE_SUFFIX } from '../metadata/route-table';
import type { ServiceDeps } from './deps';
import { routeTooLargeMessage } from './route-watch';

/** Build the RouteQuery implementation. */
export function routeQueryService(deps: ServiceDeps): RouteQueryServer {
  const { registry, warmup } = deps;
  const maxBytes = deps.config.maxMessageBytes;
  /** During warm-up, a topic this replica has never seen may just not be reported yet. */
  const notFound = (topic: string) =>
    warmup.active && !registry.routes.wasSeen(topic) ? new WarmingUp(`topic "${topic}"`) : new TopicNotFound(topic);
  return {
    getRoute: unary('GetRoute', (req) => {
      checkGetRouteRequest(req);
      const entry = registry.routes.get(req.topic);
      if (!entry) throw notFound(req.topic);
      // Named here; grpc-js would refuse to send it with a generic "Sent message larger than max".
      if (entry.getRouteBytes.length > maxBytes) throw new LimitExceeded(routeTooLargeMessage(req.topic, entry.getRouteBytes.length, maxBytes));
      // While warming up the route may lack replica sets: say so (the pre-encoded bytes plus the flag).
      return encoded<GetRouteResponse>(warmup.active ? Buffer.concat([entry.getRouteBytes, GET_ROUTE_INCOMPLETE_SUFFIX]) : entry.getRouteBytes);
    }),
    getRoutes: unary('GetRoutes', (req) => {
      checkGetRoutesRequest(req);
      // A GetRouteResponse is `route = 1`, exactly one element of GetRoutesResponse's `routes = 1`:
      // the answer is the pre-encoded routes concatenated, plus the small rest encoded here.
      const parts: Buffer[] = [];
      const notFound: string[] = [];
      for (const t of new Set(req.topics)) {
        const e = registry.routes.get(t);
        if (e) parts.push(e.getRouteBytes);
        else notFound.push(t);
      }
      parts.push(Buffer.from(GetRoutesResponse.encode({ routes: [], notFound, warmingUp: warmup.active, mayBeIncomplete: warmup.active }).finish()));
      const size = parts.reduce((n, p) => n + p.length, 0);
      if (size > maxBytes) {
        throw new LimitExceeded(`the ${parts.length - 1} routes asked for are ${size} bytes encoded, more than this server sends in one message (${maxBytes} bytes, --max-message-bytes); ask for fewer topics`);
      }
      return encoded<GetRoutesResponse>(Buffer.concat(parts, size));
    }),
    watchRoutes: bidi('WatchRoutes', deps.streams, (call) => deps.routeWatch.serve(call)),
  };
}
