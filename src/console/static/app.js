// @ts-check
/**
 * The console page: cluster overview, brokers (live from Admin/WatchCluster), topics and routes (live
 * from RouteQuery/WatchRoutes with all_topics), groups with a lag chart sampled from
 * Admin/GetConsumerLag, instances, and the admin writes. Everything goes through the JSON gateway
 * (api.js); all text is inserted with textContent, never as HTML.
 *
 * URL parameters: ?refresh=MS sets the polling and lag-sampling interval (default 5000, at least 500).
 */
import { call, follow, getToken, setToken, GatewayError } from './api.js';
import { drawLagChart } from './chart.js';

const params = new URLSearchParams(location.search);
const REFRESH_MS = Math.max(500, Number(params.get('refresh')) || 5000);
const MAX_ROWS = 500;
const MAX_PAGES = 10;
const MAX_CHART_GROUPS = 8;
const MAX_SAMPLES = 120;

// ---------------------------------------------------------------------------------------------------
// DOM helpers

/** @param {string} id */
function $(id) {
  const e = document.getElementById(id);
  if (!e) throw new Error(`#${id} missing`);
  return e;
}

/**
 * @param {string} tag
 * @param {Record<string, any>} attrs
 * @param {...any} children
 * @returns {HTMLElement}
 */
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = String(v);
    else if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

const num = (/** @type {any} */ v) => el('td', { class: 'num' }, String(v ?? 0));
const emptyRow = (/** @type {number} */ cols, /** @type {string} */ text) => el('tr', {}, el('td', { colspan: cols, class: 'empty' }, text));

/** "PERMISSION_READ_WRITE" → "read-write", and the like. */
function permText(/** @type {string | undefined} */ p) {
  return (
    { PERMISSION_READ_WRITE: 'read-write', PERMISSION_READ: 'read only', PERMISSION_WRITE: 'write only', PERMISSION_NONE: 'none' }[p ?? ''] ??
    'unspecified'
  );
}
const permCell = (/** @type {string | undefined} */ p, /** @type {Record<string, any>} */ attrs = {}) =>
  el('td', { class: `perm-${p ?? 'PERMISSION_UNSPECIFIED'}`, 'data-permission': p ?? 'PERMISSION_UNSPECIFIED', ...attrs }, permText(p));
/** "MESSAGE_TYPE_FIFO" → "fifo". */
const enumText = (/** @type {string | undefined} */ v, /** @type {string} */ prefix) => (v ? v.replace(prefix, '').toLowerCase() : '–');

function ago(/** @type {number | undefined} */ ms) {
  if (!ms) return '–';
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}
const iso = (/** @type {number | undefined} */ ms) => (ms ? new Date(ms).toISOString() : '');
const list = (/** @type {string | null} */ v) =>
  (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

// ---------------------------------------------------------------------------------------------------
// State

/** @type {Map<string, any>} live brokers by "cluster/broker_name/broker_id" */
const brokers = new Map();
/** @type {Map<string, any> | null} a new snapshot being received after (re)connecting */
let brokersFresh = null;
/** @type {Map<string, any>} routes by topic */
let routes = new Map();
/** @type {Map<string, any> | null} */
let routesFresh = null;
/** @type {any[]} */
let groups = [];
/** @type {any[]} */
let instances = [];
/** @type {string | null} */
let selectedTopic = null;
/** @type {{topic: string, version: string, data?: any, error?: GatewayError} | null} */
let topicDetail = null;
/** @type {string | null} */
let selectedGroup = null;
/** @type {{group: string, data?: any, error?: GatewayError} | null} */
let lagDetail = null;
/** @type {Map<string, {t: number, lag: number}[]>} */
const lagSeries = new Map();
/** @type {Map<string, GatewayError>} the latest error of each background source */
const errors = new Map();
const streamState = { cluster: 'connecting', routes: 'connecting' };

const brokerKey = (/** @type {any} */ b) => `${b.cluster ?? ''}/${b.brokerName ?? ''}/${b.brokerId ?? 0}`;

// ---------------------------------------------------------------------------------------------------
// Rendering (batched: many stream events, one render)

/** @type {Set<string>} */
const dirty = new Set();
/** @type {ReturnType<typeof setTimeout> | undefined} */
let renderTimer;
function render(/** @type {string[]} */ ...parts) {
  for (const p of parts) dirty.add(p);
  renderTimer ??= setTimeout(() => {
    renderTimer = undefined;
    const todo = new Set(dirty);
    dirty.clear();
    if (todo.has('brokers')) renderBrokers();
    if (todo.has('topics')) renderTopics();
    if (todo.has('route')) renderRoute();
    if (todo.has('groups')) renderGroups();
    if (todo.has('lag')) renderLag();
    if (todo.has('instances')) renderInstances();
    if (todo.has('errors')) renderErrors();
    if (todo.has('live')) renderLive();
  }, 30);
}

function setError(/** @type {string} */ source, /** @type {unknown} */ err) {
  errors.set(source, err instanceof GatewayError ? err : new GatewayError({ message: String(err) }, 0));
  render('errors');
}
function clearError(/** @type {string} */ source) {
  if (errors.delete(source)) render('errors');
}

function renderErrors() {
  const box = $('errors');
  box.hidden = errors.size === 0;
  box.replaceChildren(
    el('h2', {}, 'Errors'),
    el(
      'ul',
      {},
      [...errors].map(([source, e]) =>
        el(
          'li',
          { 'data-testid': 'error', 'data-source': source, 'data-code': e.codeName },
          el('strong', {}, e.codeName),
          e.httpStatus ? ` (HTTP ${e.httpStatus})` : '',
          ` from ${source}: ${e.message}`,
        ),
      ),
    ),
  );
}

function renderLive() {
  const live = $('live');
  const states = Object.values(streamState);
  live.dataset.state = states.every((s) => s === 'live') ? 'live' : states.some((s) => s === 'reconnecting') ? 'down' : 'connecting';
  live.textContent = `Live updates: cluster ${streamState.cluster}, routes ${streamState.routes}`;
}

function renderOverview(/** @type {any} */ info) {
  $('server-id').textContent = info.serverId ?? '–';
  $('server-version').textContent = info.serverVersion ?? '–';
  const started = $('started-at');
  started.textContent = info.startedAtMs ? `${iso(info.startedAtMs)} (${ago(info.startedAtMs)})` : '–';
  $('warming-up').textContent = info.warmingUp ? 'yes (routes may be incomplete)' : 'no';
  $('clusters').textContent = (info.clusters ?? []).map((/** @type {any} */ c) => c.name).join(', ') || '–';
  $('count-brokers').textContent = String(info.brokerCount ?? 0);
  $('count-topics').textContent = String(info.topicCount ?? 0);
  $('count-groups').textContent = String(info.groupCount ?? 0);
  $('count-instances').textContent = String(info.instanceCount ?? 0);
}

function renderBrokers() {
  const rows = [...brokers.entries()].sort(([a], [b]) => a.localeCompare(b));
  $('brokers-body').replaceChildren(
    ...(rows.length === 0
      ? [emptyRow(10, 'No live brokers.')]
      : rows.map(([key, b]) =>
          el(
            'tr',
            { 'data-testid': 'broker-row', 'data-broker': key },
            el('td', {}, b.cluster ?? ''),
            el('th', { scope: 'row' }, b.brokerName ?? ''),
            num(b.brokerId),
            el('td', {}, (b.addresses ?? []).join(', ')),
            el('td', {}, b.zone ?? ''),
            permCell(b.permission),
            el('td', {}, enumText(b.sessionKind, 'SESSION_KIND_')),
            num(b.topicCount),
            el('td', { title: iso(b.lastSeenAtMs) }, ago(b.lastSeenAtMs)),
            el(
              'td',
              {},
              el('button', {
                type: 'button',
                'data-testid': 'drain',
                'aria-label': `Drain replica set ${b.brokerName} of ${b.cluster}`,
                onclick: () => setPermission(b.cluster ?? '', b.brokerName ?? '', 'PERMISSION_READ'),
              }, 'Drain'),
              ' ',
              el('button', {
                type: 'button',
                'data-testid': 'restore',
                'aria-label': `Restore replica set ${b.brokerName} of ${b.cluster}`,
                onclick: () => setPermission(b.cluster ?? '', b.brokerName ?? '', 'PERMISSION_READ_WRITE'),
              }, 'Restore'),
            ),
          ),
        )),
  );
  const clusters = new Set([...brokers.values()].map((b) => b.cluster ?? ''));
  const names = new Set([...brokers.values()].map((b) => b.brokerName ?? ''));
  $('cluster-names').replaceChildren(...[...clusters].sort().map((c) => el('option', { value: c })));
  $('broker-names').replaceChildren(...[...names].sort().map((n) => el('option', { value: n })));
}

function renderTopics() {
  const filter = /** @type {HTMLInputElement} */ ($('topic-filter')).value.trim().toLowerCase();
  const names = [...routes.keys()].filter((t) => !filter || t.toLowerCase().includes(filter)).sort();
  const shown = names.slice(0, MAX_ROWS);
  $('topics-count').textContent =
    names.length > shown.length ? `showing ${shown.length} of ${names.length} (filter to narrow)` : `${names.length} of ${routes.size} topics`;
  $('topics-body').replaceChildren(
    ...(shown.length === 0
      ? [emptyRow(7, routes.size === 0 ? 'No topics.' : 'No topic matches the filter.')]
      : shown.map((name) => {
          const r = routes.get(name);
          const bs = r.brokers ?? [];
          const perms = [...new Set(bs.map((/** @type {any} */ b) => b.permission))];
          const sum = (/** @type {string} */ k) => bs.reduce((/** @type {number} */ n, /** @type {any} */ b) => n + (b[k] ?? 0), 0);
          return el(
            'tr',
            { 'data-testid': 'topic-row', 'data-topic': name, class: name === selectedTopic ? 'selected' : undefined },
            el(
              'th',
              { scope: 'row' },
              el('button', {
                type: 'button',
                class: 'link',
                'data-testid': 'topic-link',
                'aria-pressed': String(name === selectedTopic),
                'aria-controls': 'route',
                onclick: () => selectTopic(name),
              }, name),
            ),
            el('td', {}, enumText(r.messageType, 'MESSAGE_TYPE_')),
            el('td', {}, bs.map((/** @type {any} */ b) => b.brokerName).join(', ')),
            num(sum('readQueueNums')),
            num(sum('writeQueueNums')),
            perms.length === 1 ? permCell(perms[0]) : el('td', {}, perms.map(permText).join(' / ')),
            el('td', {}, el('code', {}, r.version ?? '')),
          );
        })),
  );
}

function selectTopic(/** @type {string} */ name) {
  selectedTopic = name;
  topicDetail = null;
  render('topics', 'route');
  loadTopicDetail();
}

async function loadTopicDetail() {
  const topic = selectedTopic;
  if (!topic) return;
  const version = routes.get(topic)?.version ?? '';
  if (topicDetail && topicDetail.topic === topic && topicDetail.version === version) return;
  topicDetail = { topic, version };
  try {
    const data = await call('Admin/GetTopic', { topic });
    if (topicDetail?.topic === topic) topicDetail.data = data;
  } catch (e) {
    if (topicDetail?.topic === topic) topicDetail.error = /** @type {GatewayError} */ (e);
  }
  render('route');
}

function renderRoute() {
  const box = $('route');
  if (!selectedTopic) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  $('route-h').textContent = `Route of ${selectedTopic}`;
  const r = routes.get(selectedTopic);
  const body = $('route-body');
  if (!r) {
    body.replaceChildren(el('p', { 'data-testid': 'route-missing' }, `Topic ${selectedTopic} has no route (no live broker reports it).`));
    return;
  }
  const parts = [
    el('p', {}, 'Version ', el('code', { 'data-testid': 'route-version' }, r.version ?? ''), ` · message type ${enumText(r.messageType, 'MESSAGE_TYPE_')}`),
    el(
      'table',
      { 'data-testid': 'route-table' },
      el('caption', {}, `Replica sets holding ${selectedTopic} (effective permission: the topic's, restricted by the broker's)`),
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          ['Replica set', 'Cluster', 'Zone', 'Read queues', 'Write queues', 'Permission', 'Replicas'].map((h) => el('th', { scope: 'col' }, h)),
        ),
      ),
      el(
        'tbody',
        {},
        (r.brokers ?? []).map((/** @type {any} */ b) =>
          el(
            'tr',
            { 'data-testid': 'route-row', 'data-broker': b.brokerName },
            el('th', { scope: 'row' }, b.brokerName),
            el('td', {}, b.cluster ?? ''),
            el('td', {}, b.zone ?? ''),
            num(b.readQueueNums),
            num(b.writeQueueNums),
            permCell(b.permission, { 'data-testid': 'route-permission' }),
            el(
              'td',
              {},
              (b.replicas ?? []).map((/** @type {any} */ x) =>
                el('div', {}, `${x.brokerId ?? 0}${x.leader ? ' (leader)' : ''}: ${(x.addresses ?? []).join(', ')}`),
              ),
            ),
          ),
        ),
      ),
    ),
  ];
  if (topicDetail?.topic === selectedTopic && topicDetail.error) {
    const e = topicDetail.error;
    parts.push(el('p', { class: 'err' }, `Per-broker configuration: ${e.codeName}: ${e.message}`));
  } else if (topicDetail?.topic === selectedTopic && topicDetail.data) {
    const rows = topicDetail.data.brokers ?? [];
    parts.push(
      el(
        'table',
        { 'data-testid': 'topic-brokers-table' },
        el('caption', {}, 'Each broker’s configuration of the topic (Admin/GetTopic)'),
        el(
          'thead',
          {},
          el('tr', {}, ['Broker', 'Read queues', 'Write queues', 'Permission', 'Message type', 'Queues with offsets', 'Messages (max − min)'].map((h) => el('th', { scope: 'col' }, h))),
        ),
        el(
          'tbody',
          {},
          rows.map((/** @type {any} */ t) => {
            const qp = t.queuePositions ?? [];
            const msgs = qp.reduce((/** @type {number} */ n, /** @type {any} */ q) => n + ((q.maxOffset ?? 0) - (q.minOffset ?? 0)), 0);
            return el(
              'tr',
              {},
              el('th', { scope: 'row' }, `${t.cluster}/${t.brokerName}/${t.brokerId ?? 0}`),
              num(t.config?.readQueueNums),
              num(t.config?.writeQueueNums),
              permCell(t.config?.permission),
              el('td', {}, enumText(t.config?.messageType, 'MESSAGE_TYPE_')),
              num(qp.length),
              num(msgs),
            );
          }),
        ),
      ),
    );
  }
  parts.push(el('button', { type: 'button', onclick: () => ((selectedTopic = null), render('route', 'topics')) }, 'Close route'));
  body.replaceChildren(...parts);
}

function renderGroups() {
  $('groups-body').replaceChildren(
    ...(groups.length === 0
      ? [emptyRow(6, 'No consumer groups.')]
      : groups.map((g) =>
          el(
            'tr',
            { 'data-testid': 'group-row', 'data-group': g.name },
            el(
              'th',
              { scope: 'row' },
              el('button', {
                type: 'button',
                class: 'link',
                'aria-pressed': String(g.name === selectedGroup),
                'aria-controls': 'lag',
                onclick: () => selectGroup(g.name),
              }, g.name),
            ),
            el('td', {}, (g.brokerNames ?? []).join(', ')),
            el('td', {}, enumText(g.consumeMode, 'CONSUME_MODE_')),
            el('td', {}, (g.topics ?? []).join(', ')),
            el('td', { class: 'num', 'data-testid': 'group-lag' }, String(g.totalLag ?? 0)),
            num(g.instanceCount),
          ),
        )),
  );
}

function selectGroup(/** @type {string} */ name) {
  selectedGroup = name;
  lagDetail = { group: name };
  render('groups', 'lag');
  refreshLagDetail();
}

async function refreshLagDetail() {
  const group = selectedGroup;
  if (!group) return;
  try {
    const data = await call('Admin/GetConsumerLag', { group });
    if (selectedGroup === group) lagDetail = { group, data };
  } catch (e) {
    if (selectedGroup === group) lagDetail = { group, error: /** @type {GatewayError} */ (e) };
  }
  render('lag');
}

function renderLag() {
  drawLagChart($('lag-chart-box'), $('lag-legend'), lagSeries);
  $('lag-caption').textContent = `Total lag per group, sampled every ${REFRESH_MS / 1000} s with Admin/GetConsumerLag (${
    lagSeries.size < groups.length ? `the first ${lagSeries.size} of ${groups.length} groups` : 'every group'
  }).`;
  const box = $('lag');
  if (!selectedGroup || !lagDetail) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  $('lag-h').textContent = `Lag of ${selectedGroup}`;
  const body = $('lag-body');
  if (lagDetail.error) {
    body.replaceChildren(el('p', { class: 'err' }, `${lagDetail.error.codeName}: ${lagDetail.error.message}`));
    return;
  }
  if (!lagDetail.data) {
    body.replaceChildren(el('p', {}, 'Loading…'));
    return;
  }
  const d = lagDetail.data;
  body.replaceChildren(
    el('p', {}, `Total lag ${d.totalLag ?? 0}`),
    el(
      'table',
      { 'data-testid': 'lag-table' },
      el('caption', {}, 'Per topic and queue'),
      el('thead', {}, el('tr', {}, ['Topic', 'Replica set', 'Queue', 'Max offset', 'Committed offset', 'Lag'].map((h) => el('th', { scope: 'col' }, h)))),
      el(
        'tbody',
        {},
        (d.topics ?? []).flatMap((/** @type {any} */ t) =>
          (t.queues ?? []).map((/** @type {any} */ q) =>
            el('tr', {}, el('th', { scope: 'row' }, t.topic), el('td', {}, q.brokerName ?? ''), num(q.queueId), num(q.maxOffset), num(q.committedOffset), num(q.lag)),
          ),
        ),
      ),
    ),
    el('button', { type: 'button', onclick: () => ((selectedGroup = null), render('lag', 'groups')) }, 'Close lag'),
  );
}

function renderInstances() {
  $('instances-body').replaceChildren(
    ...(instances.length === 0
      ? [emptyRow(9, 'No client instances reported.')]
      : instances.map((i) => {
          const x = i.instance ?? {};
          return el(
            'tr',
            { 'data-testid': 'instance-row' },
            el('th', { scope: 'row' }, x.clientId ?? ''),
            el('td', {}, enumText(x.role, 'CLIENT_ROLE_')),
            el('td', {}, x.group ?? ''),
            el('td', {}, (x.topics ?? []).join(', ')),
            el('td', {}, x.host ?? ''),
            el('td', {}, x.language ?? ''),
            el('td', {}, x.version ?? ''),
            el('td', {}, (i.brokerNames ?? []).join(', ')),
            el('td', { title: iso(i.lastSeenAtMs) }, ago(i.lastSeenAtMs)),
          );
        })),
  );
}

// ---------------------------------------------------------------------------------------------------
// Polling: overview, broker details, groups and lag samples, instances

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

/** Every page (up to MAX_PAGES) of a paginated listing. */
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

async function refreshOverview() {
  const info = await guarded('Admin/GetClusterInfo', () => call('Admin/GetClusterInfo', {}));
  if (info) renderOverview(info);
}

async function refreshBrokerDetails() {
  // Membership comes from the watch; this refreshes the details (last seen, counts) of known brokers.
  const all = await guarded('Admin/ListBrokers', () => listAll('Admin/ListBrokers', 'brokers'));
  if (!all || brokersFresh) return;
  for (const b of all) if (brokers.has(brokerKey(b))) brokers.set(brokerKey(b), b);
  render('brokers');
}

async function refreshGroups() {
  const all = await guarded('Admin/ListGroups', () => listAll('Admin/ListGroups', 'groups'));
  if (!all) return;
  groups = all;
  render('groups');
  const charted = groups.slice(0, MAX_CHART_GROUPS).map((g) => g.name);
  for (const name of [...lagSeries.keys()]) if (!charted.includes(name)) lagSeries.delete(name);
  const now = Date.now();
  await Promise.all(
    charted.map(async (group) => {
      const r = await guarded(`Admin/GetConsumerLag ${group}`, () => call('Admin/GetConsumerLag', { group }));
      if (!r) return;
      const samples = lagSeries.get(group) ?? [];
      samples.push({ t: now, lag: Number(r.totalLag ?? 0) });
      if (samples.length > MAX_SAMPLES) samples.splice(0, samples.length - MAX_SAMPLES);
      lagSeries.set(group, samples);
    }),
  );
  if (selectedGroup) await refreshLagDetail();
  render('lag');
}

async function refreshInstances() {
  const all = await guarded('Admin/ListInstances', () => listAll('Admin/ListInstances', 'instances'));
  if (!all) return;
  instances = all;
  render('instances');
}

let refreshing = false;
/** @type {ReturnType<typeof setTimeout> | undefined} */
let refreshTimer;
async function refresh() {
  clearTimeout(refreshTimer);
  if (refreshing) {
    refreshTimer = setTimeout(refresh, 200);
    return;
  }
  refreshing = true;
  try {
    await Promise.all([refreshOverview(), refreshBrokerDetails(), refreshGroups(), refreshInstances()]);
  } finally {
    refreshing = false;
    refreshTimer = setTimeout(refresh, REFRESH_MS);
  }
}
/** Refresh shortly (after a write or a membership change), coalescing bursts. */
let soonTimer = /** @type {ReturnType<typeof setTimeout> | undefined} */ (undefined);
function refreshSoon() {
  soonTimer ??= setTimeout(() => {
    soonTimer = undefined;
    refresh();
  }, 250);
}

// ---------------------------------------------------------------------------------------------------
// Live streams

/** @type {{stop(): void}[]} */
let streams = [];

function startStreams() {
  for (const s of streams) s.stop();
  brokersFresh = null;
  routesFresh = null;
  const onState = (/** @type {'cluster' | 'routes'} */ which, /** @type {string} */ source) =>
    (/** @type {string} */ state, /** @type {GatewayError | null | undefined} */ err) => {
      streamState[which] = state;
      if (err) setError(source, err);
      render('live');
    };
  const cluster = follow('Admin/WatchCluster', {}, {
    onOpen: () => {
      brokersFresh = new Map();
    },
    onMessage: (m) => {
      clearError('Admin/WatchCluster');
      if (m.snapshotDone) {
        if (brokersFresh) {
          brokers.clear();
          for (const [k, v] of brokersFresh) brokers.set(k, v);
          brokersFresh = null;
        }
        render('brokers');
        refreshSoon();
        return;
      }
      if (!m.broker) return;
      const target = brokersFresh ?? brokers;
      if (m.type === 'CLUSTER_EVENT_TYPE_LEFT') target.delete(brokerKey(m.broker));
      else target.set(brokerKey(m.broker), m.broker);
      if (!brokersFresh) {
        render('brokers');
        refreshSoon();
      }
    },
    onState: onState('cluster', 'Admin/WatchCluster'),
  });
  const routeWatch = follow('RouteQuery/WatchRoutes', { allTopics: true }, {
    onOpen: () => {
      routesFresh = new Map();
    },
    onMessage: (m) => {
      clearError('RouteQuery/WatchRoutes');
      const target = routesFresh ?? routes;
      let selectedChanged = false;
      for (const ev of m.events ?? []) {
        if (ev.type === 'ROUTE_EVENT_TYPE_REMOVED') target.delete(ev.topic);
        else if (ev.route) target.set(ev.topic, ev.route);
        if (ev.topic === selectedTopic) selectedChanged = true;
      }
      // The first progress message follows the initial routes: the fresh table is complete.
      if (m.progress && routesFresh) {
        routes = routesFresh;
        routesFresh = null;
        selectedChanged = true;
      }
      if (!routesFresh) {
        render('topics');
        if (selectedChanged && selectedTopic) {
          render('route');
          loadTopicDetail();
        }
      }
    },
    onState: onState('routes', 'RouteQuery/WatchRoutes'),
  });
  streams = [cluster, routeWatch];
}

// ---------------------------------------------------------------------------------------------------
// Admin writes

/**
 * Show a write's outcome: the status, and every broker's result.
 * @param {HTMLElement} out
 * @param {string} method
 * @param {GatewayError | null} err
 * @param {any[]} results
 */
function showOutcome(out, method, err, results) {
  const status = err
    ? el(
        'p',
        { class: 'err', 'data-testid': 'result-status', 'data-code': err.codeName },
        el('strong', {}, err.codeName),
        err.httpStatus ? ` (HTTP ${err.httpStatus})` : '',
        ` ${method}: ${err.message}`,
      )
    : el('p', { class: 'ok', 'data-testid': 'result-status', 'data-code': 'OK' }, `OK: ${method} applied by ${results.length} broker${results.length === 1 ? '' : 's'}`);
  const table =
    results.length === 0
      ? null
      : el(
          'table',
          { 'data-testid': 'result-table' },
          el('caption', {}, 'Outcome per broker'),
          el('thead', {}, el('tr', {}, ['Broker', 'Outcome', 'Detail'].map((h) => el('th', { scope: 'col' }, h)))),
          el(
            'tbody',
            {},
            results.map((r) =>
              el(
                'tr',
                { 'data-testid': 'result-row', 'data-outcome': r.outcome ?? 'COMMAND_OUTCOME_UNSPECIFIED' },
                el('th', { scope: 'row' }, `${r.cluster ?? ''}/${r.brokerName ?? ''}/${r.brokerId ?? 0}`),
                el('td', { class: r.outcome === 'COMMAND_OUTCOME_OK' ? 'outcome-COMMAND_OUTCOME_OK' : 'outcome-bad' }, enumText(r.outcome, 'COMMAND_OUTCOME_')),
                el('td', {}, r.message ?? ''),
              ),
            ),
          ),
        );
  out.replaceChildren(status, ...(table ? [table] : []));
}

/**
 * @param {string} method
 * @param {object} body
 * @param {HTMLElement} out
 * @param {HTMLFormElement | null} form its buttons are disabled while the call runs
 */
async function write(method, body, out, form) {
  const buttons = form ? [...form.querySelectorAll('button')] : [];
  for (const b of buttons) b.disabled = true;
  out.replaceChildren(el('p', { 'data-testid': 'result-pending' }, `${method}…`));
  try {
    const r = await call(method, body);
    showOutcome(out, method, null, r.results ?? []);
  } catch (e) {
    const err = e instanceof GatewayError ? e : new GatewayError({ message: String(e) }, 0);
    showOutcome(out, method, err, err.results);
  } finally {
    for (const b of buttons) b.disabled = false;
    refreshSoon();
  }
}

function setPermission(/** @type {string} */ cluster, /** @type {string} */ brokerName, /** @type {string} */ permission) {
  /** @type {HTMLInputElement} */ ($('perm-cluster')).value = cluster;
  /** @type {HTMLInputElement} */ ($('perm-broker')).value = brokerName;
  write('Admin/SetBrokerPermission', { cluster, brokerName, permission }, $('permission-result'), /** @type {HTMLFormElement} */ ($('permission-form')));
}

/** @param {SubmitEvent} ev */
function submitted(ev) {
  ev.preventDefault();
  const form = /** @type {HTMLFormElement} */ (ev.currentTarget);
  const submitter = /** @type {HTMLButtonElement | null} */ (ev.submitter);
  return { form, op: submitter?.value ?? '', f: new FormData(form) };
}
const str = (/** @type {FormData} */ f, /** @type {string} */ k) => String(f.get(k) ?? '').trim();

function wireForms() {
  $('topic-form').addEventListener('submit', (e) => {
    const { form, op, f } = submitted(/** @type {SubmitEvent} */ (e));
    const name = str(f, 'name');
    const targets = { cluster: str(f, 'cluster'), brokerNames: list(str(f, 'brokers')) };
    const body =
      op === 'DeleteTopic'
        ? { topic: name, ...targets }
        : {
            topic: {
              name,
              readQueueNums: Number(str(f, 'read') || 0),
              writeQueueNums: Number(str(f, 'write') || 0),
              permission: str(f, 'perm'),
              messageType: str(f, 'type'),
            },
            ...targets,
          };
    write(`Admin/${op || 'CreateTopic'}`, body, $('topic-result'), form);
  });
  $('group-form').addEventListener('submit', (e) => {
    const { form, op, f } = submitted(/** @type {SubmitEvent} */ (e));
    const name = str(f, 'name');
    const targets = { cluster: str(f, 'cluster'), brokerNames: list(str(f, 'brokers')) };
    const attempts = Number(str(f, 'attempts') || 0);
    const body =
      op === 'DeleteGroup'
        ? { group: name, ...targets }
        : {
            group: {
              name,
              consumeMode: str(f, 'mode'),
              subscriptions: list(str(f, 'subs')).map((s) => {
                const i = s.indexOf(':');
                return i < 0 ? { topic: s } : { topic: s.slice(0, i).trim(), expression: s.slice(i + 1).trim(), filterType: 'FILTER_TYPE_TAG' };
              }),
              ...(attempts > 0 ? { retryPolicy: { maxAttempts: attempts } } : {}),
              consumeOrderly: f.get('orderly') !== null,
            },
            ...targets,
          };
    write(`Admin/${op || 'CreateGroup'}`, body, $('group-result'), form);
  });
  $('permission-form').addEventListener('submit', (e) => {
    const { form, op, f } = submitted(/** @type {SubmitEvent} */ (e));
    write('Admin/SetBrokerPermission', { cluster: str(f, 'cluster'), brokerName: str(f, 'broker'), permission: op || 'PERMISSION_READ' }, $('permission-result'), form);
  });
  $('topic-filter').addEventListener('input', () => render('topics'));
}

function wireToken() {
  const input = /** @type {HTMLInputElement} */ ($('token'));
  const state = $('token-state');
  const show = () => {
    state.textContent = getToken()
      ? 'A token is in use in this tab (sessionStorage; sent as Authorization: Bearer).'
      : 'No token: requests carry none. A token is kept in this tab only (sessionStorage).';
  };
  $('token-form').addEventListener('submit', (e) => {
    e.preventDefault();
    setToken(input.value.trim());
    input.value = '';
    show();
    errors.clear();
    render('errors');
    startStreams();
    refresh();
  });
  $('token-clear').addEventListener('click', () => {
    setToken('');
    input.value = '';
    show();
    startStreams();
    refresh();
  });
  show();
}

wireToken();
wireForms();
render('brokers', 'topics', 'groups', 'lag', 'instances', 'live');
startStreams();
refresh();
setInterval(() => render('brokers', 'instances'), 10_000); // keep "last seen" ages current
