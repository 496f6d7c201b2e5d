/** Validators of the RouteQuery requests (pure functions; see fields.ts). */
import type { GetRouteRequest, GetRoutesRequest, TopicSubscription, WatchRoutesRequest } from '../../../../generated/nameserver/v1/route_query';
import { CheckOptions, REQUEST, ROUTE_VERSION_MAX_CHARS, boundedList, fail, freeText, list, message, resolveLimits, topicName, topicNames } from './fields';
// ---------------------------------------------------------------------------------------------------
// RouteQuery

/** GetRoute: a valid topic name. */
export function checkGetRouteRequest(req: GetRouteRequest): void {
  const r = message<GetRouteRequest>(req, REQUEST);
  topicName(r.topic, 'topic');
}

/** GetRoutes: 1..1000 valid topic names (duplicates allowed: answered once). */
export function checkGetRoutesRequest(req: GetRoutesRequest, options: CheckOptions = {}): void {
  const limits = resolveLimits(options.limits);
  const r = message<GetRoutesRequest>(req, REQUEST);
  topicNames(boundedList(r.topics, 'topics', limits.maxRoutesPerRequest, 1), 'topics');
}

/**
 * One WatchRoutes message: valid topics in subscribe[i].topic and unsubscribe[i], versions at most
 * 128 characters, at most 10,000 entries in all.
 */
export function checkWatchRoutesRequest(req: WatchRoutesRequest, options: CheckOptions = {}): void {
  const limits = resolveLimits(options.limits);
  const r = message<WatchRoutesRequest>(req, REQUEST);
  const max = limits.maxWatchEntries;
  const subscribe = boundedList(r.subscribe, 'subscribe', max);
  const unsubscribe = list(r.unsubscribe, 'unsubscribe');
  if (subscribe.length + unsubscribe.length > max) {
    fail('unsubscribe', `must have at most ${max} entries together with subscribe, got ${subscribe.length + unsubscribe.length}`);
  }
  for (let i = 0; i < subscribe.length; i++) {
    const f = `subscribe[${i}]`;
    const s = message<TopicSubscription>(subscribe[i], f);
    topicName(s.topic, `${f}.topic`);
    freeText(s.version, `${f}.version`, ROUTE_VERSION_MAX_CHARS);
  }
  topicNames(unsubscribe, 'unsubscribe');
}
