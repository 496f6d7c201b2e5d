// @ts-check
/**
 * What the console knows, and where it comes from:
 *
 * - brokers: live from Admin/WatchCluster (a snapshot, then joins, leaves and updates); details that
 *   change without an event (last seen, topic counts) refreshed with Admin/ListBrokers;
 * - routes: live from RouteQuery/WatchRoutes with all_topics;
 * - the server (id, version, warm-up, clusters): Admin/GetClusterInfo;
 * - groups with their total lag: Admin/ListGroups (of the chosen cluster), every refresh interval,
 *   which also samples the lag chart;
 * - client instances: Admin/ListInstances.
 *
 * Each source has a load state (loading until its first complete answer, then ready; error when it
 * failed before ever answering), so no view shows "none" before its source has spoken, and every
 * count on the page is taken from the same data as the table it describes.
 */
import { call, follow, GatewayError } from './api.js';

const params = new URLSearchParams(location.search);
/** Polling and lag-sampling interval (`?refresh=MS`, default 5000, at least 500). */
export const REFRESH_MS = Math.max(500, Number(params.get('refresh')) || 5000);
const MAX_PAGES = 20;
const MAX_SAMPLES = 120;
const MAX_SERIES = 50;

/** @typedef {{state: 'loading' | 'ready' | 'error', error?: GatewayError}} Load */

export const store = {
  /** @type {any} Admin/GetClusterInfo */
  info: null,
  /** @type {Load} */
  infoLoad: { state: 'loading' },
  /** @type {Map<string, any>} BrokerInfo by "cluster/broker_name/broker_id" */
  brokers: new Map(),
  /** @type {Load} */
  brokersLoad: { state: 'loading' },
  /** @type {Map<string, any>} Route by topic */
  routes: new Map(),
  /** @type {Load} */
  routesLoad: { state: 'loading' },
  /** @type {any[]} GroupSummary of `groupsCluster` */
  groups: [],
  /** @type {Load} */
  groupsLoad: { state: 'loading' },
  /** @type {string | null} the cluster `groups` was listed for */
  groupsCluster: null,
  /** @type {any[]} InstanceInfo */
  instances: [],
  /** @type {Load} */
  instancesLoad: { state: 'loading' },
  /** @type {Map<string, {t: number, lag: number}[]>} total lag samples per group */
  lagSeries: new Map(),
  /** @type {Map<string, GatewayError>} the latest error of each background source */
  errors: new Map(),
  /** @type {{cluster: string, routes: string}} state of the two streams */
  streams: { cluster: 'connecting', routes: 'connecting' },
  /** The cluster chosen in the header ('' = all). */
  cluster: '',
  /** Bumped on every change; caches key on it. */
  version: 0,
};

export const brokerKey = (/** @type {any} */ b) => `${b.cluster ?? ''}/${b.brokerName ?? ''}/${b.brokerId ?? 0}`;

// ---------------------------------------------------------------------------------------------------
// Change notification: many stream events, one render.

/** @type {Set<(parts: Set<string>) => void>} */
const listeners = new Set();
/** @type {Set<string>} */
const dirty = new Set();
/** @type {ReturnType<typeof setTimeout> | undefined} */
let timer;

/** Call `fn` with the parts that changed (batched). */
export function onChange(/** @type {(parts: Set<string>) => void} */ fn) {
  listeners.add(fn);
}

/** Mark parts as changed: 'info', 'brokers', 'routes', 'groups', 'instances', 'lag', 'errors', 'live', 'cluster'. */
export function changed(/** @type {string[]} */ ...parts) {
  store.version++;
  for (const p of parts) dirty.add(p);
  timer ??= setTimeout(() => {
    timer = undefined;
    const parts = new Set(dirty);
    dirty.clear();
    for (const fn of listeners) fn(parts);
  }, 30);
}

function setError(/** @type {string} */ source, /** @type {unknown} */ err) {
  store.errors.set(source, err instanceof GatewayError ? err : new GatewayError({ message: String(err) }, 0));
  changed('errors');
}
function clearError(/** @type {string} */ source) {
  if (store.errors.delete(source)) changed('errors');
}
/** Forget every background error (a new token: they are about to be retried). */
export function clearErrors() {
  store.errors.clear();
  changed('errors');
}

// ---------------------------------------------------------------------------------------------------
// The data in the chosen cluster's scope (cached per version).

let scopeVersion = -1;
/** @type {{brokers: any[], routes: any[], groups: any[], instances: any[], replicaSets: Set<string>, clusters: string[]}} */
let scope = { brokers: [], routes: [], groups: [], instances: [], replicaSets: new Set(), clusters: [] };

/** Brokers, routes, groups and instances of the chosen cluster (all when none is chosen). */
export function scoped() {
  if (scopeVersion === store.version) return scope;
  const c = store.cluster;
  const brokers = [...store.brokers.values()].filter((b) => !c || b.cluster === c);
  const replicaSets = new Set(brokers.map((b) => b.brokerName ?? ''));
  const routes = [...store.routes.values()].filter((r) => !c || (r.brokers ?? []).some((/** @type {any} */ b) => b.cluster === c));
  const instances = c ? store.instances.filter((i) => (i.brokerNames ?? []).some((/** @type {string} */ n) => replicaSets.has(n))) : store.instances;
  scope = { brokers, routes, groups: store.groups, instances, replicaSets, clusters: clusterNames() };
  scopeVersion = store.version;
  return scope;
}

/** Every cluster known: from the server's overview and from live brokers. */
export function clusterNames() {
  const names = new Set((store.info?.clusters ?? []).map((/** @type {any} */ c) => c.name));
  for (const b of store.brokers.values()) names.add(b.cluster ?? '');
  names.delete('');
  return [...names].sort();
}

/** Groups are listed per cluster: whether the list on hand is the chosen cluster's. */
export const groupsCurrent = () => store.groupsLoad.state !== 'loading' && store.groupsCluster === store.cluster;

// ---------------------------------------------------------------------------------------------------
// Polling

/**
 * Run a background read; its error replaces the source's previous one, success clears it.
 * @template T
 * @param {string} source
 * @param {() => Promise<T>} fn
 * @returns {Promise<T | undefined>}
 */
async function guarded(source, fn) {
  try {
    const r = await fn();
    clearError(source);
    return r;
  } catch (e) {
    setError(source, e);
    return undefined;
  }
}

/** Every page (up to MAX_PAGES of 1,000) of a paginated listing. */
async function listAll(/** @type {string} */ method, /** @type {string} */ field, /** @type {object} */ body = {}) {
  /** @type {any[]} */
  const out = [];
  let pageToken = '';
  for (let i = 0; i < MAX_PAGES; i++) {
    const r = await call(method, { ...body, pageSize: 1000, pageToken });
    out.push(...(r[field] ?? []));
    pageToken = r.nextPageToken ?? '';
    if (!pageToken) break;
  }
  return out;
}

/** @param {Load} load @param {string} source */
const failed = (load, source) => (load.state === 'ready' ? load : { state: /** @type {const} */ ('error'), error: store.errors.get(source) });

async function refreshInfo() {
  const info = await guarded('Admin/GetClusterInfo', () => call('Admin/GetClusterInfo', {}));
  if (info) {
    store.info = info;
    store.infoLoad = { state: 'ready' };
  } else store.infoLoad = failed(store.infoLoad, 'Admin/GetClusterInfo');
  changed('info');
}

async function refreshBrokerDetails() {
  // Membership comes from the watch; this refreshes what changes without an event (last seen, counts).
  const all = await guarded('Admin/ListBrokers', () => listAll('Admin/ListBrokers', 'brokers'));
  if (!all || store.brokersLoad.state !== 'ready') return;
  for (const b of all) if (store.brokers.has(brokerKey(b))) store.brokers.set(brokerKey(b), b);
  changed('brokers');
}

async function refreshGroups() {
  const cluster = store.cluster;
  const all = await guarded('Admin/ListGroups', () => listAll('Admin/ListGroups', 'groups', cluster ? { cluster } : {}));
  if (cluster !== store.cluster) return; // the choice changed meanwhile; a newer refresh follows
  if (!all) {
    store.groupsLoad = store.groupsCluster === cluster ? failed(store.groupsLoad, 'Admin/ListGroups') : { state: 'error', error: store.errors.get('Admin/ListGroups') };
    changed('groups');
    return;
  }
  store.groups = all;
  store.groupsCluster = cluster;
  store.groupsLoad = { state: 'ready' };
  sampleLag(all);
  changed('groups', 'lag');
}

/** One lag sample per group (the groups with the most lag, when there are many). */
function sampleLag(/** @type {any[]} */ groups) {
  const now = Date.now();
  const top = [...groups].sort((a, b) => Number(b.totalLag ?? 0) - Number(a.totalLag ?? 0)).slice(0, MAX_SERIES);
  const keep = new Set(top.map((g) => g.name));
  for (const name of [...store.lagSeries.keys()]) if (!keep.has(name)) store.lagSeries.delete(name);
  for (const g of top) {
    const samples = store.lagSeries.get(g.name) ?? [];
    samples.push({ t: now, lag: Number(g.totalLag ?? 0) });
    if (samples.length > MAX_SAMPLES) samples.splice(0, samples.length - MAX_SAMPLES);
    store.lagSeries.set(g.name, samples);
  }
}

async function refreshInstances() {
  const all = await guarded('Admin/ListInstances', () => listAll('Admin/ListInstances', 'instances'));
  if (all) {
    store.instances = all;
    store.instancesLoad = { state: 'ready' };
  } else store.instancesLoad = failed(store.instancesLoad, 'Admin/ListInstances');
  changed('instances');
}

let refreshing = false;
let again = false;
/** @type {ReturnType<typeof setTimeout> | undefined} */
let refreshTimer;
/** Refresh every polled source now (once more after the current round, if one is running). */
export async function refresh() {
  clearTimeout(refreshTimer);
  if (refreshing) {
    again = true;
    return;
  }
  refreshing = true;
  try {
    await Promise.all([refreshInfo(), refreshBrokerDetails(), refreshGroups(), refreshInstances()]);
  } finally {
    refreshing = false;
    if (again) {
      again = false;
      refresh();
    } else refreshTimer = setTimeout(refresh, REFRESH_MS);
  }
}

/** @type {ReturnType<typeof setTimeout> | undefined} */
let soonTimer;
/** Refresh shortly (after a write or a membership change), coalescing bursts. */
export function refreshSoon() {
  soonTimer ??= setTimeout(() => {
    soonTimer = undefined;
    refresh();
  }, 250);
}

/** Choose a cluster ('' = all): views filter at once; groups are listed again for it. */
export function setCluster(/** @type {string} */ cluster) {
  if (cluster === store.cluster) return;
  store.cluster = cluster;
  if (store.groupsCluster !== cluster) store.groupsLoad = { state: 'loading' };
  store.lagSeries.clear();
  changed('cluster', 'brokers', 'routes', 'groups', 'instances', 'lag');
  refresh();
}

// ---------------------------------------------------------------------------------------------------
// Live streams

/** @type {{stop(): void}[]} */
let streams = [];

/** (Re)open both streams, e.g. after the token changed. */
export function startStreams() {
  for (const s of streams) s.stop();
  /** @type {Map<string, any> | null} a snapshot being received after (re)connecting */
  let brokersFresh = null;
  /** @type {Map<string, any> | null} */
  let routesFresh = null;
  const onState = (/** @type {'cluster' | 'routes'} */ which, /** @type {string} */ source, /** @type {'brokersLoad' | 'routesLoad'} */ load) =>
    (/** @type {string} */ state, /** @type {GatewayError | null | undefined} */ err) => {
      store.streams[which] = state;
      if (err) {
        setError(source, err);
        if (store[load].state !== 'ready') store[load] = { state: 'error', error: err };
      }
      changed('live', which === 'cluster' ? 'brokers' : 'routes');
    };

  const cluster = follow('Admin/WatchCluster', {}, {
    onOpen: () => {
      brokersFresh = new Map();
    },
    onMessage: (m) => {
      clearError('Admin/WatchCluster');
      if (m.snapshotDone) {
        if (brokersFresh) {
          store.brokers = brokersFresh;
          brokersFresh = null;
        }
        store.brokersLoad = { state: 'ready' };
        changed('brokers');
        refreshSoon();
        return;
      }
      if (!m.broker) return;
      const target = brokersFresh ?? store.brokers;
      if (m.type === 'CLUSTER_EVENT_TYPE_LEFT') target.delete(brokerKey(m.broker));
      else target.set(brokerKey(m.broker), m.broker);
      if (!brokersFresh) {
        changed('brokers');
        refreshSoon();
      }
    },
    onState: onState('cluster', 'Admin/WatchCluster', 'brokersLoad'),
  });

  const routeWatch = follow('RouteQuery/WatchRoutes', { allTopics: true }, {
    onOpen: () => {
      routesFresh = new Map();
    },
    onMessage: (m) => {
      clearError('RouteQuery/WatchRoutes');
      const target = routesFresh ?? store.routes;
      for (const ev of m.events ?? []) {
        if (ev.type === 'ROUTE_EVENT_TYPE_REMOVED') target.delete(ev.topic);
        else if (ev.route) target.set(ev.topic, ev.route);
      }
      // The first progress message follows the initial routes: the fresh table is complete.
      if (m.progress && routesFresh) {
        store.routes = routesFresh;
        routesFresh = null;
        store.routesLoad = { state: 'ready' };
      }
      if (!routesFresh) changed('routes');
    },
    onState: onState('routes', 'RouteQuery/WatchRoutes', 'routesLoad'),
  });
  streams = [cluster, routeWatch];
}
