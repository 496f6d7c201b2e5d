// @ts-check
/**
 * The Instances page: the producers and consumers the brokers of the chosen cluster report
 * (Admin/ListInstances), searchable by client id, host, group or topic, and by role.
 */
import { $, ago, el, enumText, iso, names } from './dom.js';
import { scoped, store } from './store.js';
import { DataTable } from './table.js';

/** @type {DataTable<any>} */
let table;

/** Build the table and wire the toolbar. */
export function init() {
  table = new DataTable($('instances-host'), {
    testid: 'instances-table',
    caption: 'Producers and consumers connected to the brokers',
    noun: 'instances',
    empty: 'No client instances: the brokers report no connected producer or consumer.',
    key: (i) => `${i.instance?.clientId ?? ''}/${i.instance?.role ?? ''}`,
    sort: { id: 'client' },
    rowAttrs: (i) => ({ 'data-testid': 'instance-row', 'data-client': i.instance?.clientId ?? '' }),
    columns: [
      { id: 'client', label: 'Client id', rowHeader: true, sort: (i) => i.instance?.clientId ?? '', cell: (i) => el('code', {}, i.instance?.clientId ?? '') },
      { id: 'role', label: 'Role', sort: (i) => i.instance?.role ?? '', cell: (i) => enumText(i.instance?.role, 'CLIENT_ROLE_') },
      {
        id: 'group',
        label: 'Group',
        sort: (i) => i.instance?.group ?? '',
        cell: (i) => (i.instance?.group ? el('a', { href: `#/groups/${encodeURIComponent(i.instance.group)}` }, i.instance.group) : '–'),
      },
      { id: 'topics', label: 'Topics', cell: (i) => el('span', { title: (i.instance?.topics ?? []).join(', ') }, names(i.instance?.topics ?? []) || '–') },
      { id: 'host', label: 'Host', sort: (i) => i.instance?.host ?? '', cell: (i) => i.instance?.host || '–' },
      { id: 'language', label: 'Language', sort: (i) => i.instance?.language ?? '', cell: (i) => i.instance?.language || '–' },
      { id: 'version', label: 'Version', sort: (i) => i.instance?.version ?? '', cell: (i) => i.instance?.version || '–' },
      { id: 'sets', label: 'Replica sets', cell: (i) => names(i.brokerNames ?? []) },
      { id: 'seen', label: 'Last seen', sort: (i) => Number(i.lastSeenAtMs ?? 0), cell: (i) => el('span', { title: iso(i.lastSeenAtMs) }, ago(i.lastSeenAtMs)) },
    ],
  });
  const filter = () => {
    const q = /** @type {HTMLInputElement} */ ($('instance-filter')).value.trim().toLowerCase();
    const role = /** @type {HTMLSelectElement} */ ($('instance-role-filter')).value;
    table.setFilter((i) => {
      const x = i.instance ?? {};
      if (role && x.role !== role) return false;
      return !q || `${x.clientId} ${x.host} ${x.group} ${(x.topics ?? []).join(' ')}`.toLowerCase().includes(q);
    }, q);
    table.render();
  };
  $('instance-filter').addEventListener('input', filter);
  $('instance-role-filter').addEventListener('change', filter);
}

/** Re-render what changed (the page is visible). */
export function render(/** @type {Set<string>} */ parts) {
  if (parts.has('instances') || parts.has('brokers') || parts.has('cluster') || parts.has('tick')) {
    table.setLoad(store.instancesLoad);
    if (store.instancesLoad.state === 'ready') table.setRows(scoped().instances);
    table.render();
  }
}
