// @ts-check
/**
 * The Cluster page: the overview (counts in the chosen cluster, this NameServer replica), the clusters
 * with their replica sets, and every live broker with the action its state allows: Drain on a writable
 * replica set (after a confirmation), Restore on a drained one. An action's outcome is shown in a line
 * under the row it was taken on.
 */
import { $, ago, el, enumText, fmt, isWritable, iso, permBadge } from './dom.js';
import { brokerKey, groupsCurrent, scoped, store } from './store.js';
import { DataTable } from './table.js';
import { confirmAction, outcomeView, pendingView, toastOutcome, write } from './writes.js';

/** @typedef {{selectCluster(name: string): void}} Context */

/** @type {Map<string, import('./writes.js').Outcome | 'pending'>} outcomes under broker rows */
const rowResults = new Map();
/** @type {DataTable<any>} */
let table;
/** @type {Context} */
let ctx;

/** Build the page's tables and wire its controls. */
export function init(/** @type {Context} */ context) {
  ctx = context;
  table = new DataTable($('brokers-host'), {
    testid: 'brokers-table',
    caption: 'Live brokers',
    noun: 'brokers',
    empty: 'No live brokers: none has registered with this NameServer (or all have left).',
    key: brokerKey,
    sort: { id: 'name' },
    rowAttrs: (b) => ({ 'data-testid': 'broker-row', 'data-broker': brokerKey(b), 'data-permission': b.permission ?? 'PERMISSION_READ_WRITE' }),
    after: resultRow,
    columns: [
      { id: 'cluster', label: 'Cluster', sort: (b) => `${b.cluster}/${b.brokerName}/${String(b.brokerId ?? 0).padStart(6, '0')}`, cell: (b) => b.cluster ?? '' },
      { id: 'name', label: 'Replica set', rowHeader: true, sort: (b) => `${b.brokerName}/${b.cluster}/${String(b.brokerId ?? 0).padStart(6, '0')}`, cell: (b) => b.brokerName ?? '' },
      {
        id: 'id',
        label: 'ID',
        num: true,
        sort: (b) => b.brokerId ?? 0,
        cell: (b) => el('span', {}, String(b.brokerId ?? 0), (b.brokerId ?? 0) === 0 ? el('span', { class: 'tag' }, 'leader') : ''),
      },
      { id: 'addresses', label: 'Addresses', cell: (b) => el('code', {}, (b.addresses ?? []).join(', ')) },
      { id: 'zone', label: 'Zone', sort: (b) => b.zone ?? '', cell: (b) => b.zone || '–' },
      { id: 'permission', label: 'Permission', sort: (b) => b.permission ?? 'PERMISSION_READ_WRITE', cell: (b) => permBadge(b.permission) },
      { id: 'session', label: 'Session', sort: (b) => b.sessionKind ?? '', cell: (b) => enumText(b.sessionKind, 'SESSION_KIND_') },
      { id: 'version', label: 'Version', sort: (b) => b.softwareVersion ?? '', cell: (b) => b.softwareVersion || '–' },
      { id: 'topics', label: 'Topics', num: true, sort: (b) => b.topicCount ?? 0, cell: (b) => fmt(b.topicCount) },
      { id: 'seen', label: 'Last seen', sort: (b) => Number(b.lastSeenAtMs ?? 0), cell: (b) => el('span', { title: iso(b.lastSeenAtMs) }, ago(b.lastSeenAtMs)) },
      { id: 'actions', label: 'Actions', cell: actions },
    ],
  });
  const filter = () => {
    const q = /** @type {HTMLInputElement} */ ($('broker-filter')).value.trim().toLowerCase();
    const perm = /** @type {HTMLSelectElement} */ ($('broker-perm-filter')).value;
    table.setFilter(
      (b) =>
        (!q || `${b.cluster} ${b.brokerName} ${(b.addresses ?? []).join(' ')} ${b.zone ?? ''}`.toLowerCase().includes(q)) &&
        (!perm || (perm === 'writable') === isWritable(b.permission)),
      q,
    );
    table.render();
  };
  $('broker-filter').addEventListener('input', filter);
  $('broker-perm-filter').addEventListener('change', filter);
}

/** Drain on a writable replica set, Restore on a drained one: never both, never the one that does nothing. */
function actions(/** @type {any} */ b) {
  const name = b.brokerName ?? '';
  const cluster = b.cluster ?? '';
  const key = brokerKey(b);
  const busy = rowResults.get(key) === 'pending';
  if (isWritable(b.permission)) {
    return el(
      'button',
      { type: 'button', class: 'small danger', 'data-testid': 'drain', disabled: busy, 'aria-label': `Drain replica set ${name} of ${cluster}`, onclick: () => drain(key, cluster, name) },
      'Drain',
    );
  }
  return el(
    'button',
    { type: 'button', class: 'small', 'data-testid': 'restore', disabled: busy, 'aria-label': `Restore replica set ${name} of ${cluster}`, onclick: () => restore(key, cluster, name) },
    'Restore',
  );
}

async function drain(/** @type {string} */ key, /** @type {string} */ cluster, /** @type {string} */ name) {
  const replicas = [...store.brokers.values()].filter((b) => b.cluster === cluster && b.brokerName === name).length;
  const holding = [...store.routes.values()].filter((r) => (r.brokers ?? []).some((/** @type {any} */ x) => x.cluster === cluster && x.brokerName === name)).length;
  const outcome = await confirmAction({
    title: `Drain replica set ${name}?`,
    body: [
      el('p', {}, 'Replica set ', el('strong', {}, name), ` of cluster ${cluster} (${replicas} replica${replicas === 1 ? '' : 's'}) becomes read only.`),
      `Producers stop sending to it: its ${fmt(holding)} topic route${holding === 1 ? '' : 's'} lose write permission there. Consumers keep reading what it holds. Restore gives write permission back.`,
    ],
    confirm: `Drain ${name}`,
    run: () => write('Admin/SetBrokerPermission', { cluster, brokerName: name, permission: 'PERMISSION_READ' }),
  });
  if (!outcome) return;
  rowResults.set(key, outcome);
  toastOutcome(`Drain ${name}`, outcome);
  table.render();
}

async function restore(/** @type {string} */ key, /** @type {string} */ cluster, /** @type {string} */ name) {
  rowResults.set(key, 'pending');
  table.render();
  const outcome = await write('Admin/SetBrokerPermission', { cluster, brokerName: name, permission: 'PERMISSION_READ_WRITE' });
  rowResults.set(key, outcome);
  toastOutcome(`Restore ${name}`, outcome);
  table.render();
}

/** The outcome of the last action on a row, under it. */
function resultRow(/** @type {any} */ b) {
  const key = brokerKey(b);
  const r = rowResults.get(key);
  if (!r) return null;
  const body = r === 'pending' ? pendingView(`Setting the permission of ${b.brokerName}…`) : outcomeView(r);
  return el(
    'tr',
    { class: 'row-result', 'data-testid': 'row-result', 'data-for': key },
    el(
      'td',
      { colspan: 11 },
      body,
      r === 'pending'
        ? ''
        : el('button', { type: 'button', class: 'small link', 'data-testid': 'row-result-dismiss', onclick: () => (rowResults.delete(key), table.render()) }, 'Dismiss'),
    ),
  );
}

/** A summary card: value '…' until its source has answered. */
function card(/** @type {string} */ id, /** @type {string} */ label, /** @type {string | null} */ value, /** @type {string} */ sub = '') {
  return el(
    'div',
    { class: 'card', 'data-testid': `card-${id}` },
    el('div', { class: 'label' }, label),
    el('div', { class: 'value', 'data-testid': `overview-${id}` }, value ?? '…'),
    el('div', { class: 'sub' }, sub),
  );
}

function renderCards() {
  const s = scoped();
  const brokersReady = store.brokersLoad.state === 'ready';
  const sets = new Map();
  for (const b of s.brokers) {
    const k = `${b.cluster}/${b.brokerName}`;
    sets.set(k, (sets.get(k) ?? true) && isWritable(b.permission));
  }
  const readOnly = [...sets.values()].filter((w) => !w).length;
  const leaders = s.brokers.filter((b) => (b.brokerId ?? 0) === 0).length;
  const info = store.info;
  $('overview').replaceChildren(
    card('brokers', 'Live brokers', brokersReady ? fmt(s.brokers.length) : null, brokersReady ? `${fmt(leaders)} leaders, ${fmt(s.brokers.length - leaders)} followers` : ''),
    card('replica-sets', 'Replica sets', brokersReady ? fmt(sets.size) : null, brokersReady ? (readOnly ? `${fmt(readOnly)} drained (read only)` : 'all writable') : ''),
    card('topics', 'Topics', store.routesLoad.state === 'ready' ? fmt(s.routes.length) : null, 'with a route'),
    card('groups', 'Consumer groups', groupsCurrent() && store.groupsLoad.state === 'ready' ? fmt(s.groups.length) : null, groupsCurrent() ? `total lag ${fmt(s.groups.reduce((n, g) => n + Number(g.totalLag ?? 0), 0))}` : ''),
    card('instances', 'Client instances', store.instancesLoad.state === 'ready' ? fmt(s.instances.length) : null, 'producers and consumers'),
    card('server', 'This NameServer', info ? `v${info.serverVersion ?? '?'}` : null, info ? `started ${ago(info.startedAtMs)}${info.warmingUp ? ' · warming up' : ''}` : ''),
  );
  const warm = $('warming');
  warm.hidden = !info?.warmingUp;
}

function renderClusters() {
  const host = $('clusters-host');
  if (store.brokersLoad.state !== 'ready') {
    host.replaceChildren(el('p', { class: 'empty' }, store.brokersLoad.state === 'error' ? 'Clusters unknown: the broker list could not be loaded.' : 'Loading clusters…'));
    return;
  }
  /** @type {Map<string, {sets: Map<string, boolean>, brokers: number, topics: number}>} */
  const byCluster = new Map();
  for (const name of scoped().clusters) byCluster.set(name, { sets: new Map(), brokers: 0, topics: 0 });
  for (const b of store.brokers.values()) {
    const c = byCluster.get(b.cluster);
    if (!c) continue;
    c.brokers++;
    c.sets.set(b.brokerName, (c.sets.get(b.brokerName) ?? true) && isWritable(b.permission));
  }
  if (store.routesLoad.state === 'ready') {
    for (const r of store.routes.values()) {
      const seen = new Set((r.brokers ?? []).map((/** @type {any} */ b) => b.cluster));
      for (const name of seen) {
        const c = byCluster.get(name);
        if (c) c.topics++;
      }
    }
  }
  if (byCluster.size === 0) {
    host.replaceChildren(el('p', { class: 'empty' }, 'No clusters: no broker has registered.'));
    return;
  }
  host.replaceChildren(
    el(
      'table',
      { class: 'data', 'data-testid': 'clusters-table' },
      el('caption', { class: 'sr-only' }, 'Clusters'),
      el(
        'thead',
        {},
        el('tr', {}, ['Cluster', 'Replica sets', 'Drained', 'Brokers', 'Topics', ''].map((h, i) => el('th', { scope: 'col', class: i > 0 && i < 5 ? 'num' : undefined }, h))),
      ),
      el(
        'tbody',
        {},
        [...byCluster].map(([name, c]) => {
          const drained = [...c.sets.values()].filter((w) => !w).length;
          const chosen = store.cluster === name;
          return el(
            'tr',
            { 'data-testid': 'cluster-row', 'data-cluster': name, class: chosen ? 'chosen' : undefined },
            el('th', { scope: 'row' }, name),
            el('td', { class: 'num' }, fmt(c.sets.size)),
            el('td', { class: 'num' }, drained ? el('span', { class: 'badge perm perm-PERMISSION_READ' }, fmt(drained)) : '0'),
            el('td', { class: 'num' }, fmt(c.brokers)),
            el('td', { class: 'num' }, store.routesLoad.state === 'ready' ? fmt(c.topics) : '…'),
            el(
              'td',
              {},
              chosen
                ? el('button', { type: 'button', class: 'small', 'data-testid': 'cluster-all', onclick: () => ctx.selectCluster('') }, 'Show all clusters')
                : el('button', { type: 'button', class: 'small', 'data-testid': 'cluster-choose', onclick: () => ctx.selectCluster(name) }, `Show only ${name}`),
            ),
          );
        }),
      ),
    ),
  );
}

/** Re-render what changed (the page is visible). */
export function render(/** @type {Set<string>} */ parts) {
  if (parts.has('brokers') || parts.has('cluster') || parts.has('tick')) {
    table.setLoad(store.brokersLoad);
    if (store.brokersLoad.state === 'ready' || store.brokers.size) table.setRows(scoped().brokers);
    table.render();
  }
  renderCards();
  if (parts.has('brokers') || parts.has('routes') || parts.has('cluster') || parts.has('info')) renderClusters();
}
