// @ts-check
/**
 * The Groups page: a chart of total lag over time for the groups lagging most, every consumer group of
 * the chosen cluster with its lag (Admin/ListGroups), Edit and Delete on each row; and a group's own
 * view (#/groups/<name>): per-queue lag (Admin/GetConsumerLag), each broker's configuration
 * (Admin/GetGroup) and the group's consumer instances.
 */
import { call, GatewayError } from './api.js';
import { drawLagChart } from './chart.js';
import { $, ago, el, enumText, fmt, names, thead } from './dom.js';
import { createGroup, editGroup } from './forms.js';
import { groupsCurrent, REFRESH_MS, scoped, store } from './store.js';
import { DataTable } from './table.js';
import { confirmAction, toastOutcome, write } from './writes.js';

/** @typedef {{go(hash: string): void}} Context */

const CHART_GROUPS = 8;

/** @type {DataTable<any>} */
let table;
/** @type {Context} */
let ctx;
/** @type {string | null} */
let current = null;
/** @type {{group: string, lag?: any, config?: any, error?: GatewayError} | null} */
let detail = null;
/** Topics whose queues are shown in the group's view. */
const openTopics = new Set();

const groupHash = (/** @type {string} */ name) => `#/groups/${encodeURIComponent(name)}`;

/** Build the table and wire the toolbar. */
export function init(/** @type {Context} */ context) {
  ctx = context;
  table = new DataTable($('groups-host'), {
    testid: 'groups-table',
    caption: 'Consumer groups (lag = max offset − committed offset, from the brokers’ position reports)',
    noun: 'groups',
    empty: 'No consumer groups: no broker reports one. Create one with “Create group”.',
    key: (g) => g.name,
    sort: { id: 'lag', desc: true },
    rowAttrs: (g) => ({ 'data-testid': 'group-row', 'data-group': g.name }),
    columns: [
      { id: 'name', label: 'Group', rowHeader: true, sort: (g) => g.name, cell: (g) => el('a', { href: groupHash(g.name), 'data-testid': 'group-link' }, g.name) },
      { id: 'sets', label: 'Replica sets', sort: (g) => (g.brokerNames ?? []).length, cell: (g) => el('span', { title: (g.brokerNames ?? []).join(', ') }, names(g.brokerNames ?? [])) },
      { id: 'mode', label: 'Consume mode', sort: (g) => g.consumeMode ?? '', cell: (g) => enumText(g.consumeMode, 'CONSUME_MODE_', 'clustering') },
      { id: 'topics', label: 'Topics', sort: (g) => (g.topics ?? []).length, cell: (g) => el('span', { title: (g.topics ?? []).join(', ') }, names(g.topics ?? []) || '–') },
      {
        id: 'lag',
        label: 'Total lag',
        num: true,
        sort: (g) => Number(g.totalLag ?? 0),
        cell: (g) => el('span', { 'data-testid': 'group-lag', class: 'strong' }, fmt(g.totalLag)),
      },
      { id: 'instances', label: 'Instances', num: true, sort: (g) => g.instanceCount ?? 0, cell: (g) => fmt(g.instanceCount) },
      {
        id: 'actions',
        label: 'Actions',
        cell: (g) =>
          el(
            'span',
            { class: 'actions' },
            el('button', { type: 'button', class: 'small', 'data-testid': 'group-edit', 'aria-label': `Edit group ${g.name}`, onclick: () => editGroup(g.name) }, 'Edit'),
            el('button', { type: 'button', class: 'small danger', 'data-testid': 'group-delete', 'aria-label': `Delete group ${g.name}`, onclick: () => deleteGroup(g.name) }, 'Delete'),
          ),
      },
    ],
  });
  const filter = () => {
    const q = /** @type {HTMLInputElement} */ ($('group-filter')).value.trim().toLowerCase();
    table.setFilter((g) => !q || g.name.toLowerCase().includes(q) || (g.topics ?? []).some((/** @type {string} */ t) => t.toLowerCase().includes(q)), q);
    table.render();
  };
  $('group-filter').addEventListener('input', filter);
  $('group-create-open').addEventListener('click', () => createGroup());
}

/** Ask, then delete a group wherever it exists; the outcome is shown in the dialog. */
export async function deleteGroup(/** @type {string} */ name) {
  const g = store.groups.find((x) => x.name === name);
  const outcome = await confirmAction({
    title: `Delete consumer group ${name}?`,
    body: [
      el('p', {}, 'Group ', el('strong', {}, name), ` is deleted from every replica set holding it${g?.brokerNames?.length ? `: ${g.brokerNames.join(', ')}` : ''}.`),
      `Its subscriptions and retry policy go with it${g?.instanceCount ? `; its ${g.instanceCount} connected consumer instance${g.instanceCount === 1 ? '' : 's'} stop receiving messages` : ''}. This cannot be undone from the console.`,
    ],
    confirm: `Delete group ${name}`,
    run: () => write('Admin/DeleteGroup', { group: name }),
  });
  if (!outcome) return;
  toastOutcome(`Group ${name} deleted`, outcome);
  if (!outcome.err && current === name) ctx.go('#/groups');
}

/** Show the list ('') or one group. */
export function show(/** @type {string} */ group) {
  if ((group || null) !== current) openTopics.clear();
  current = group || null;
  $('groups-list').hidden = current !== null;
  $('group-detail').hidden = current === null;
  if (current) {
    detail = { group: current };
    loadDetail();
  }
  render(new Set(['groups', 'lag', 'instances']));
}

async function loadDetail() {
  const group = current;
  if (!group) return;
  try {
    const [lag, config] = await Promise.all([call('Admin/GetConsumerLag', { group }), call('Admin/GetGroup', { group })]);
    if (current === group) detail = { group, lag, config };
  } catch (e) {
    if (current === group) detail = { group, error: e instanceof GatewayError ? e : new GatewayError({ message: String(e) }, 0) };
  }
  if (current === group) renderDetail();
}

function renderChart() {
  const s = scoped();
  const top = [...s.groups]
    .filter((g) => store.lagSeries.has(g.name))
    .sort((a, b) => Number(b.totalLag ?? 0) - Number(a.totalLag ?? 0))
    .slice(0, CHART_GROUPS);
  // In name order, so a group keeps its colour when the ranking changes.
  /** @type {Map<string, {t: number, lag: number}[]>} */
  const series = new Map(top.map((g) => g.name).sort().map((n) => [n, store.lagSeries.get(n) ?? []]));
  drawLagChart($('lag-chart-box'), $('lag-legend'), series);
  $('lag-caption').textContent = `Total lag of ${
    s.groups.length > top.length ? `the ${top.length} groups lagging most (of ${fmt(s.groups.length)})` : 'every group'
  }, sampled every ${REFRESH_MS / 1000} s from Admin/ListGroups while this page is open.`;
}

function renderDetail() {
  const name = current;
  if (!name) return;
  $('group-detail-name').textContent = name;
  $('group-crumb').textContent = name;
  const g = scoped().groups.find((x) => x.name === name);
  const actions = $('group-detail-actions');
  actions.replaceChildren(
    el('button', { type: 'button', 'data-testid': 'detail-edit', onclick: () => editGroup(name) }, 'Edit'),
    el('button', { type: 'button', class: 'danger', 'data-testid': 'detail-delete', onclick: () => deleteGroup(name) }, 'Delete'),
  );
  const body = $('group-detail-body');
  if (groupsCurrent() && !g) {
    actions.replaceChildren();
    body.replaceChildren(el('p', { class: 'empty', 'data-testid': 'group-missing' }, `Group ${name} is not reported by any broker${store.cluster ? ` of cluster ${store.cluster}` : ''}.`));
    return;
  }
  const parts = [];
  if (g) {
    parts.push(
      el(
        'div',
        { class: 'facts' },
        el('span', {}, 'Total lag ', el('strong', { 'data-testid': 'detail-lag' }, fmt(g.totalLag))),
        el('span', {}, 'Consume mode ', el('strong', {}, enumText(g.consumeMode, 'CONSUME_MODE_', 'clustering'))),
        el('span', {}, 'Replica sets ', el('strong', {}, (g.brokerNames ?? []).join(', ') || '–')),
        el('span', {}, 'Instances ', el('strong', {}, fmt(g.instanceCount))),
      ),
    );
  }
  parts.push(el('h3', {}, 'Lag per topic'));
  if (!detail || detail.group !== name || (!detail.lag && !detail.error)) parts.push(el('p', { class: 'empty' }, 'Loading (Admin/GetConsumerLag)…'));
  else if (detail.error) parts.push(el('p', { class: 'status err' }, `Could not read it: ${detail.error.codeName}: ${detail.error.message}`));
  else {
    const topics = detail.lag.topics ?? [];
    parts.push(
      topics.length === 0
        ? el('p', { class: 'empty' }, 'No positions reported for this group yet.')
        : el(
            'div',
            { class: 'scroll' },
            el(
              'table',
              { class: 'data', 'data-testid': 'lag-table' },
              el('caption', { class: 'sr-only' }, 'Lag per topic; open a topic for its queues'),
              thead(['Topic', 'Replica sets', 'Queues', 'Lag', 'Per queue'], ['Queues', 'Lag']),
              el(
                'tbody',
                {},
                topics.map((/** @type {any} */ t) => {
                  const queues = t.queues ?? [];
                  const sets = [...new Set(queues.map((/** @type {any} */ q) => q.brokerName))];
                  const open = openTopics.has(t.topic);
                  return [
                    el(
                      'tr',
                      { 'data-testid': 'lag-topic-row', 'data-topic': t.topic },
                      el('th', { scope: 'row' }, el('a', { href: `#/topics/${encodeURIComponent(t.topic)}` }, t.topic)),
                      el('td', {}, names(/** @type {string[]} */ (sets))),
                      el('td', { class: 'num' }, fmt(queues.length)),
                      el('td', { class: 'num strong', 'data-testid': 'lag-topic-lag' }, fmt(t.lag)),
                      el(
                        'td',
                        {},
                        el(
                          'button',
                          {
                            type: 'button',
                            class: 'small link',
                            'aria-expanded': String(open),
                            'data-testid': 'lag-queues-toggle',
                            onclick: () => {
                              if (open) openTopics.delete(t.topic);
                              else openTopics.add(t.topic);
                              renderDetail();
                            },
                          },
                          open ? 'Hide queues' : `Show ${queues.length} queues`,
                        ),
                      ),
                    ),
                    open
                      ? el(
                          'tr',
                          { class: 'row-result' },
                          el(
                            'td',
                            { colspan: 5 },
                            el(
                              'table',
                              { class: 'results', 'data-testid': 'queue-lag-table' },
                              thead(['Replica set', 'Queue', 'Max offset', 'Committed offset', 'Lag'], ['Queue', 'Max offset', 'Committed offset', 'Lag']),
                              el(
                                'tbody',
                                {},
                                queues.map((/** @type {any} */ q) =>
                                  el(
                                    'tr',
                                    {},
                                    el('td', {}, q.brokerName ?? ''),
                                    el('td', { class: 'num' }, fmt(q.queueId)),
                                    el('td', { class: 'num' }, fmt(q.maxOffset)),
                                    el('td', { class: 'num' }, fmt(q.committedOffset)),
                                    el('td', { class: 'num' }, fmt(q.lag)),
                                  ),
                                ),
                              ),
                            ),
                          ),
                        )
                      : null,
                  ];
                }),
              ),
            ),
          ),
    );
    parts.push(el('h3', {}, 'Configuration on each broker'));
    parts.push(
      el(
        'div',
        { class: 'scroll' },
        el(
          'table',
          { class: 'data', 'data-testid': 'group-brokers-table' },
          el('caption', { class: 'sr-only' }, 'Each broker’s configuration of the group (Admin/GetGroup)'),
          thead(['Broker', 'Consume mode', 'Subscriptions', 'Max attempts', 'Orderly'], ['Max attempts']),
          el(
            'tbody',
            {},
            (detail.config.brokers ?? []).map((/** @type {any} */ b) =>
              el(
                'tr',
                {},
                el('th', { scope: 'row' }, `${b.cluster}/${b.brokerName}/${b.brokerId ?? 0}`),
                el('td', {}, enumText(b.config?.consumeMode, 'CONSUME_MODE_', 'clustering')),
                el(
                  'td',
                  {},
                  (b.config?.subscriptions ?? []).map((/** @type {any} */ s, /** @type {number} */ i) => [
                    i ? ', ' : '',
                    s.topic,
                    s.expression && s.expression !== '*' ? el('code', {}, ` (${s.expression})`) : '',
                  ]),
                ),
                el('td', { class: 'num' }, b.config?.retryPolicy?.maxAttempts ? fmt(b.config.retryPolicy.maxAttempts) : 'default'),
                el('td', {}, b.config?.consumeOrderly ? 'yes' : 'no'),
              ),
            ),
          ),
        ),
      ),
    );
  }
  parts.push(el('h3', {}, 'Consumer instances'));
  const mine = store.instances.filter((i) => i.instance?.group === name && i.instance?.role === 'CLIENT_ROLE_CONSUMER');
  parts.push(
    store.instancesLoad.state !== 'ready'
      ? el('p', { class: 'empty' }, 'Loading instances…')
      : mine.length === 0
        ? el('p', { class: 'empty' }, 'No consumer instance of this group is reported.')
        : el(
            'div',
            { class: 'scroll' },
            el(
              'table',
              { class: 'data', 'data-testid': 'group-instances-table' },
              thead(['Client id', 'Host', 'Language', 'Version', 'Replica sets', 'Last seen']),
              el(
                'tbody',
                {},
                mine.map((i) =>
                  el(
                    'tr',
                    {},
                    el('th', { scope: 'row' }, i.instance.clientId ?? ''),
                    el('td', {}, i.instance.host ?? ''),
                    el('td', {}, i.instance.language ?? ''),
                    el('td', {}, i.instance.version ?? ''),
                    el('td', {}, (i.brokerNames ?? []).join(', ')),
                    el('td', {}, ago(i.lastSeenAtMs)),
                  ),
                ),
              ),
            ),
          ),
  );
  body.replaceChildren(...parts);
}

/** Re-render what changed (the page is visible). */
export function render(/** @type {Set<string>} */ parts) {
  if (current) {
    if (parts.has('groups') && detail?.group === current && (detail.lag || detail.error)) loadDetail(); // keep the lag current
    if (parts.has('groups') || parts.has('instances') || parts.has('cluster')) renderDetail();
    return;
  }
  if (parts.has('lag') || parts.has('groups') || parts.has('cluster')) renderChart();
  if (parts.has('groups') || parts.has('cluster')) {
    // Groups are listed per cluster: rows of another cluster's list are never shown for this one.
    if (groupsCurrent() && store.groupsLoad.state === 'ready') table.setRows(scoped().groups);
    else if (!groupsCurrent()) table.setRows([]);
    table.setLoad(store.groupsLoad.state === 'error' || groupsCurrent() ? store.groupsLoad : { state: 'loading' });
    table.render();
  }
}
