/** RouteQuery: the client-facing service. GetRoute answers from pre-encoded bytes (see encoded.ts). */
import type { GetRouteResponse, RouteQueryServer } from '../../generated/nameserver/v1/route_query';
import { TopicNotFound, WarmingUp } from '../metadata/errors';
import { checkGetRouteRequest, checkGetRoutesRequest } from '../metadata/validate';
import { bidi, unary } from './handler';
import { encoded } from './encoded';
import type { ServiceDeps } from './deps';

/** Build the RouteQuery implementation. */
export function routeQueryService(deps: ServiceDeps): RouteQueryServer {
  const { registry, warmup } = deps;
  /** During warm-up, a topic this replica has never seen may just not be reported yet. */
  const notFound = (topic: string) =>
    warmup.active && !registry.routes.wasSeen(topic) ? new WarmingUp(`topic "${topic}"`) : new TopicNotFound(topic);
  return {
    getRoute: unary('GetRoute', (req) => {
      checkGetRouteRequest(req);
      const entry = registry.routes.get(req.topic);
      if (!entry) throw notFound(req.topic);
      return encoded<GetRouteResponse>(entry.getRouteBytes);
    }),
    getRoutes: unary('GetRoutes', (req) => {
      checkGetRoutesRequest(req);
      const topics = [...new Set(req.topics)];
      const routes = [];
      const notFound = [];
      for (const t of topics) {
        const e = registry.routes.get(t);
        if (e) routes.push(e.route);
        else notFound.push(t);
      }
      return { routes, notFound, warmingUp: warmup.active };
    }),
    watchRoutes: bidi('WatchRoutes', deps.streams, (call) => deps.routeWatch.serve(call)),
  };
}
