// @ts-check
/**
 * The Topics page: every topic with a route in the chosen cluster (live from WatchRoutes), searchable,
 * sortable and paged, with Edit and Delete on each row; and a topic's own view (#/topics/<name>): its
 * route kept current by the same watch, each broker's configuration of it (Admin/GetTopic), and the
 * groups subscribed to it.
 */
import { call, GatewayError } from './api.js';
import { $, el, enumText, fmt, isWritable, names, permBadge, permText, thead } from './dom.js';
import { createTopic, editTopic } from './forms.js';
import { groupsCurrent, scoped, store } from './store.js';
import { DataTable } from './table.js';
import { confirmAction, toastOutcome, write } from './writes.js';

/** @typedef {{go(hash: string): void}} Context */

/** @type {DataTable<any>} */
let table;
/** @type {Context} */
let ctx;
/** @type {string | null} the topic shown in the detail view */
let current = null;
/** @type {{topic: string, version: string, data?: any, error?: GatewayError} | null} */
let detail = null;

const sum = (/** @type {any} */ r, /** @type {string} */ k) => (r.brokers ?? []).reduce((/** @type {number} */ n, /** @type {any} */ b) => n + (b[k] ?? 0), 0);
const perms = (/** @type {any} */ r) => [...new Set((r.brokers ?? []).map((/** @type {any} */ b) => b.permission ?? 'PERMISSION_READ_WRITE'))];
const topicHash = (/** @type {string} */ name) => `#/topics/${encodeURIComponent(name)}`;

/** Build the table and wire the toolbar. */
export function init(/** @type {Context} */ context) {
  ctx = context;
  table = new DataTable($('topics-host'), {
    testid: 'topics-table',
    caption: 'Topics with a route',
    noun: 'topics',
    empty: 'No topics: no live broker reports one. Create one with “Create topic”.',
    key: (r) => r.topic,
    sort: { id: 'name' },
    rowAttrs: (r) => ({ 'data-testid': 'topic-row', 'data-topic': r.topic }),
    columns: [
      { id: 'name', label: 'Topic', rowHeader: true, sort: (r) => r.topic, cell: (r) => el('a', { href: topicHash(r.topic), 'data-testid': 'topic-link' }, r.topic) },
      { id: 'type', label: 'Type', sort: (r) => r.messageType ?? '', cell: (r) => enumText(r.messageType, 'MESSAGE_TYPE_', 'normal') },
      {
        id: 'clusters',
        label: 'Clusters',
        sort: (r) => [...new Set((r.brokers ?? []).map((/** @type {any} */ b) => b.cluster))].join(','),
        cell: (r) => [...new Set((r.brokers ?? []).map((/** @type {any} */ b) => b.cluster))].join(', '),
      },
      {
        id: 'sets',
        label: 'Replica sets',
        sort: (r) => (r.brokers ?? []).length,
        cell: (r) => {
          const xs = (r.brokers ?? []).map((/** @type {any} */ b) => b.brokerName);
          return el('span', { title: xs.join(', ') }, names(xs));
        },
      },
      { id: 'read', label: 'Read queues', num: true, sort: (r) => sum(r, 'readQueueNums'), cell: (r) => fmt(sum(r, 'readQueueNums')) },
      { id: 'write', label: 'Write queues', num: true, sort: (r) => sum(r, 'writeQueueNums'), cell: (r) => fmt(sum(r, 'writeQueueNums')) },
      {
        id: 'permission',
        label: 'Permission',
        sort: (r) => perms(r).join(','),
        cell: (r) => {
          const p = perms(r);
          if (p.length === 1) return permBadge(p[0]);
          // Some replica sets differ (one drained, say): say how many still take writes.
          const bs = r.brokers ?? [];
          const w = bs.filter((/** @type {any} */ b) => isWritable(b.permission)).length;
          const detail = bs.map((/** @type {any} */ b) => `${b.brokerName}: ${permText(b.permission)}`).join(', ');
          return el('span', { class: 'badge perm perm-mixed', 'data-permission': 'mixed', title: detail }, `writable on ${w} of ${bs.length}`);
        },
      },
      { id: 'version', label: 'Route version', sort: (r) => r.version ?? '', cell: (r) => el('code', { title: r.version ?? '' }, (r.version ?? '').slice(0, 12)) },
      {
        id: 'actions',
        label: 'Actions',
        cell: (r) =>
          el(
            'span',
            { class: 'actions' },
            el('button', { type: 'button', class: 'small', 'data-testid': 'topic-edit', 'aria-label': `Edit topic ${r.topic}`, onclick: () => editTopic(r.topic) }, 'Edit'),
            el('button', { type: 'button', class: 'small danger', 'data-testid': 'topic-delete', 'aria-label': `Delete topic ${r.topic}`, onclick: () => deleteTopic(r.topic) }, 'Delete'),
          ),
      },
    ],
  });
  const filter = () => {
    const q = /** @type {HTMLInputElement} */ ($('topic-filter')).value.trim().toLowerCase();
    const type = /** @type {HTMLSelectElement} */ ($('topic-type-filter')).value;
    table.setFilter((r) => (!q || r.topic.toLowerCase().includes(q)) && (!type || (r.messageType ?? 'MESSAGE_TYPE_NORMAL') === type), q);
    table.render();
  };
  $('topic-filter').addEventListener('input', filter);
  $('topic-type-filter').addEventListener('change', filter);
  $('topic-create-open').addEventListener('click', () => createTopic());
}

/** Ask, then delete a topic wherever it exists; the outcome is shown in the dialog. */
export async function deleteTopic(/** @type {string} */ name) {
  const route = store.routes.get(name);
  const holders = (route?.brokers ?? []).map((/** @type {any} */ b) => `${b.brokerName} (${b.cluster})`);
  const outcome = await confirmAction({
    title: `Delete topic ${name}?`,
    body: [
      el('p', {}, 'Topic ', el('strong', {}, name), ` is deleted from every replica set holding it${holders.length ? `: ${holders.join(', ')}` : ''}.`),
      'The brokers delete it; producers and consumers lose its route. This cannot be undone from the console.',
    ],
    confirm: `Delete topic ${name}`,
    run: () => write('Admin/DeleteTopic', { topic: name }),
  });
  if (!outcome) return;
  toastOutcome(`Topic ${name} deleted`, outcome);
  if (!outcome.err && current === name) ctx.go('#/topics');
}

/** Show the list ('') or one topic. */
export function show(/** @type {string} */ topic) {
  current = topic || null;
  $('topics-list').hidden = current !== null;
  $('topic-detail').hidden = current === null;
  if (current) {
    detail = null;
    loadDetail();
  }
  render(new Set(['routes', 'groups']));
}

async function loadDetail() {
  const topic = current;
  if (!topic) return;
  const version = store.routes.get(topic)?.version ?? '';
  if (detail && detail.topic === topic && detail.version === version) return;
  detail = { topic, version };
  const mine = detail;
  try {
    mine.data = await call('Admin/GetTopic', { topic });
  } catch (e) {
    mine.error = e instanceof GatewayError ? e : new GatewayError({ message: String(e) }, 0);
  }
  if (detail === mine) renderDetail();
}

function renderDetail() {
  const name = current;
  if (!name) return;
  $('topic-detail-name').textContent = name;
  $('topic-crumb').textContent = name;
  const body = $('topic-detail-body');
  const r = store.routes.get(name);
  const actions = $('topic-detail-actions');
  if (!r) {
    actions.replaceChildren();
    body.replaceChildren(
      el(
        'p',
        { class: 'empty', 'data-testid': store.routesLoad.state === 'ready' ? 'route-missing' : 'route-loading' },
        store.routesLoad.state === 'ready' ? `Topic ${name} has no route: no live broker reports it.` : 'Loading the route…',
      ),
    );
    return;
  }
  actions.replaceChildren(
    el('button', { type: 'button', 'data-testid': 'detail-edit', onclick: () => editTopic(name) }, 'Edit'),
    el('button', { type: 'button', class: 'danger', 'data-testid': 'detail-delete', onclick: () => deleteTopic(name) }, 'Delete'),
  );
  const parts = [
    el(
      'div',
      { class: 'facts' },
      el('span', {}, 'Type ', el('strong', {}, enumText(r.messageType, 'MESSAGE_TYPE_', 'normal'))),
      el('span', {}, 'Replica sets ', el('strong', {}, String((r.brokers ?? []).length))),
      el('span', {}, 'Read / write queues ', el('strong', {}, `${fmt(sum(r, 'readQueueNums'))} / ${fmt(sum(r, 'writeQueueNums'))}`)),
      el('span', {}, 'Route version ', el('code', { 'data-testid': 'route-version' }, r.version ?? '')),
    ),
    el('h3', {}, 'Route'),
    el('p', { class: 'help' }, 'Where clients find the topic, pushed live by WatchRoutes. Permission is the topic’s, restricted by its broker’s (a drained broker gives at most read only).'),
    el(
      'div',
      { class: 'scroll' },
      el(
        'table',
        { class: 'data', 'data-testid': 'route-table' },
        el('caption', { class: 'sr-only' }, `Replica sets holding ${name}`),
        thead(['Replica set', 'Cluster', 'Zone', 'Read queues', 'Write queues', 'Permission', 'Replicas'], ['Read queues', 'Write queues']),
        el(
          'tbody',
          {},
          (r.brokers ?? []).map((/** @type {any} */ b) =>
            el(
              'tr',
              { 'data-testid': 'route-row', 'data-broker': b.brokerName },
              el('th', { scope: 'row' }, b.brokerName),
              el('td', {}, b.cluster ?? ''),
              el('td', {}, b.zone || '–'),
              el('td', { class: 'num' }, fmt(b.readQueueNums)),
              el('td', { class: 'num' }, fmt(b.writeQueueNums)),
              el('td', {}, permBadge(b.permission, { 'data-testid': 'route-permission' })),
              el(
                'td',
                {},
                (b.replicas ?? []).map((/** @type {any} */ x) =>
                  el('div', {}, `${x.brokerId ?? 0}`, x.leader ? el('span', { class: 'tag' }, 'leader') : '', ' ', el('code', {}, (x.addresses ?? []).join(', '))),
                ),
              ),
            ),
          ),
        ),
      ),
    ),
    el('h3', {}, 'Configuration on each broker'),
  ];
  if (!detail || (!detail.data && !detail.error)) parts.push(el('p', { class: 'empty' }, 'Loading (Admin/GetTopic)…'));
  else if (detail.error) parts.push(el('p', { class: 'status err' }, `Could not read it: ${detail.error.codeName}: ${detail.error.message}`));
  else {
    parts.push(
      el(
        'div',
        { class: 'scroll' },
        el(
          'table',
          { class: 'data', 'data-testid': 'topic-brokers-table' },
          el('caption', { class: 'sr-only' }, 'Each broker’s configuration of the topic (Admin/GetTopic)'),
          thead(
            ['Broker', 'Read queues', 'Write queues', 'Permission', 'Message type', 'Attributes', 'Queues with offsets', 'Messages stored'],
            ['Read queues', 'Write queues', 'Queues with offsets', 'Messages stored'],
          ),
          el(
            'tbody',
            {},
            (detail.data.brokers ?? []).map((/** @type {any} */ t) => {
              const qp = t.queuePositions ?? [];
              const msgs = qp.reduce((/** @type {number} */ n, /** @type {any} */ q) => n + (Number(q.maxOffset ?? 0) - Number(q.minOffset ?? 0)), 0);
              const attrs = Object.entries(t.config?.attributes ?? {}).map(([k, v]) => `${k}=${v}`);
              return el(
                'tr',
                {},
                el('th', { scope: 'row' }, `${t.cluster}/${t.brokerName}/${t.brokerId ?? 0}`),
                el('td', { class: 'num' }, fmt(t.config?.readQueueNums)),
                el('td', { class: 'num' }, fmt(t.config?.writeQueueNums)),
                el('td', {}, permBadge(t.config?.permission)),
                el('td', {}, enumText(t.config?.messageType, 'MESSAGE_TYPE_', 'normal')),
                el('td', {}, attrs.join(', ') || '–'),
                el('td', { class: 'num' }, fmt(qp.length)),
                el('td', { class: 'num' }, fmt(msgs)),
              );
            }),
          ),
        ),
      ),
    );
  }
  parts.push(el('h3', {}, 'Consumer groups subscribed'));
  if (!groupsCurrent()) parts.push(el('p', { class: 'empty' }, 'Loading groups…'));
  else {
    const subs = scoped().groups.filter((g) => (g.topics ?? []).includes(name));
    parts.push(
      subs.length === 0
        ? el('p', { class: 'empty', 'data-testid': 'topic-groups-none' }, 'No consumer group subscribes to it.')
        : el(
            'ul',
            { class: 'inline-list', 'data-testid': 'topic-groups' },
            subs.map((g) => el('li', {}, el('a', { href: `#/groups/${encodeURIComponent(g.name)}` }, g.name), ` (lag ${fmt(g.totalLag)})`)),
          ),
    );
  }
  body.replaceChildren(...parts);
}

/** Re-render what changed (the page is visible). */
export function render(/** @type {Set<string>} */ parts) {
  if (current) {
    if (parts.has('routes') || parts.has('groups') || parts.has('cluster')) {
      renderDetail();
      if (parts.has('routes')) loadDetail();
    }
    return;
  }
  if (parts.has('routes') || parts.has('cluster')) {
    table.setLoad(store.routesLoad);
    if (store.routesLoad.state === 'ready' || store.routes.size) table.setRows(scoped().routes);
    table.render();
  }
}
