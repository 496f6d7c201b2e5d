// @ts-check
/**
 * The console page: a header (the cluster chosen from a list, live status, admin token), one page per
 * area (#/cluster, #/topics, #/groups, #/instances; a topic or group of its own at #/topics/<name> and
 * #/groups/<name>), and the errors of background reads. Data and its sources: store.js; tables:
 * table.js; writes, confirmations and outcomes: writes.js and forms.js.
 *
 * URL parameters: ?refresh=MS sets the polling and lag-sampling interval (default 5000, at least 500);
 * #/<page>?cluster=NAME opens the page with a cluster chosen.
 */
import { getToken, setToken } from './api.js';
import { $, el, fmt } from './dom.js';
import * as clusterPage from './page-cluster.js';
import * as groupsPage from './page-groups.js';
import * as instancesPage from './page-instances.js';
import * as topicsPage from './page-topics.js';
import { clearErrors, clusterNames, groupsCurrent, onChange, refresh, scoped, setCluster, startStreams, store, changed } from './store.js';

const PAGES = /** @type {const} */ (['cluster', 'topics', 'groups', 'instances']);
/** @typedef {typeof PAGES[number]} PageName */
const TITLES = { cluster: 'Cluster', topics: 'Topics and routes', groups: 'Groups and lag', instances: 'Client instances' };
const CLUSTER_KEY = 'nameserver-console-cluster';

/** @type {Record<PageName, {render(parts: Set<string>): void, show?(sub: string): void}>} */
const pages = { cluster: clusterPage, topics: topicsPage, groups: groupsPage, instances: instancesPage };
/** @type {PageName} */
let active = 'cluster';
const ALL = ['info', 'brokers', 'routes', 'groups', 'instances', 'lag', 'errors', 'live', 'cluster'];

// ---------------------------------------------------------------------------------------------------
// Navigation

function parseHash() {
  const h = location.hash.replace(/^#\/?/, '');
  const q = h.indexOf('?');
  const path = q < 0 ? h : h.slice(0, q);
  const params = new URLSearchParams(q < 0 ? '' : h.slice(q + 1));
  const [first = '', ...rest] = path.split('/');
  const page = /** @type {PageName} */ (PAGES.includes(/** @type {any} */ (first)) ? first : 'cluster');
  let sub = '';
  try {
    sub = decodeURIComponent(rest.join('/'));
  } catch {
    sub = '';
  }
  return { page, sub, params, known: PAGES.includes(/** @type {any} */ (first)) };
}

function route() {
  const { page, sub, params, known } = parseHash();
  if (!known) {
    history.replaceState(null, '', `#/${page}${location.hash.includes('?') ? location.hash.slice(location.hash.indexOf('?')) : ''}`);
  }
  if (params.has('cluster')) chooseCluster(params.get('cluster') ?? '', false);
  active = page;
  for (const p of PAGES) {
    $(`page-${p}`).hidden = p !== page;
    const tab = $(`tab-${p}`);
    if (p === page) tab.setAttribute('aria-current', 'page');
    else tab.removeAttribute('aria-current');
  }
  document.title = `${sub ? `${sub} · ` : ''}${TITLES[page]} · NameServer console`;
  pages[page].show?.(sub);
  pages[page].render(new Set(ALL));
}

/** Go to a page ("#/topics"). */
function go(/** @type {string} */ hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

/** Choose the cluster every page shows ('' = all); kept for this tab. */
function chooseCluster(/** @type {string} */ name, updateUrl = true) {
  try {
    if (name) sessionStorage.setItem(CLUSTER_KEY, name);
    else sessionStorage.removeItem(CLUSTER_KEY);
  } catch {
    // storage disabled: the choice lives until the page is reloaded
  }
  /** @type {HTMLSelectElement} */ ($('cluster-select')).value = name;
  setCluster(name);
  if (updateUrl) {
    const { page, sub } = parseHash();
    const path = `#/${page}${sub ? `/${encodeURIComponent(sub)}` : ''}`;
    history.replaceState(null, '', name ? `${path}?cluster=${encodeURIComponent(name)}` : path);
  }
}

// ---------------------------------------------------------------------------------------------------
// Header: clusters, counts, live status, errors

function renderClusterSelect() {
  const sel = /** @type {HTMLSelectElement} */ ($('cluster-select'));
  const names = clusterNames();
  if (store.cluster && !names.includes(store.cluster)) names.push(store.cluster); // chosen, not (yet) seen
  const have = [...sel.options].map((o) => o.value).join('\n');
  const want = ['', ...names].join('\n');
  if (have !== want) {
    sel.replaceChildren(
      el('option', { value: '' }, `All clusters${names.length ? ` (${names.length})` : ''}`),
      ...names.map((n) => el('option', { value: n }, n)),
    );
  }
  sel.value = store.cluster;
}

/** The tab counts: '…' until the source has answered, then the same number the page's table holds. */
function renderCounts() {
  const s = scoped();
  const set = (/** @type {string} */ id, /** @type {boolean} */ ready, /** @type {number} */ n) => {
    const e = $(id);
    e.textContent = ready ? fmt(n) : '…';
    e.dataset.ready = String(ready);
  };
  set('count-brokers', store.brokersLoad.state === 'ready', s.brokers.length);
  set('count-topics', store.routesLoad.state === 'ready', s.routes.length);
  set('count-groups', groupsCurrent() && store.groupsLoad.state === 'ready', s.groups.length);
  set('count-instances', store.instancesLoad.state === 'ready', s.instances.length);
  const info = store.info;
  $('server').textContent = info ? `${info.serverVersion ?? ''} · ${info.serverId ?? ''}${info.warmingUp ? ' · warming up' : ''}` : '';
}

function renderLive() {
  const live = $('live');
  const states = Object.values(store.streams);
  const state = states.every((s) => s === 'live') ? 'live' : states.some((s) => s === 'reconnecting') ? 'down' : 'connecting';
  live.dataset.state = state;
  live.textContent = state === 'live' ? 'Live' : state === 'down' ? 'Reconnecting…' : 'Connecting…';
  live.title = `Live updates: cluster ${store.streams.cluster}, routes ${store.streams.routes}`;
}

function renderErrors() {
  const box = $('errors');
  box.hidden = store.errors.size === 0;
  const auth = [...store.errors.values()].some((e) => e.codeName === 'UNAUTHENTICATED' || e.codeName === 'PERMISSION_DENIED');
  box.replaceChildren(
    el(
      'div',
      { class: 'errors-head' },
      el('strong', {}, store.errors.size === 1 ? 'A background read failed' : `${store.errors.size} background reads failed`),
      auth ? el('button', { type: 'button', class: 'small', 'data-testid': 'errors-token', onclick: openToken }, 'Set the admin token') : '',
    ),
    el(
      'ul',
      {},
      [...store.errors].map(([source, e]) =>
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

// ---------------------------------------------------------------------------------------------------
// Admin token

function showTokenState() {
  const has = Boolean(getToken());
  $('token-open').textContent = has ? 'Admin token: set' : 'Admin token: none';
  $('token-open').dataset.set = String(has);
  $('token-state').textContent = has
    ? 'A token is in use in this tab (kept in sessionStorage, sent as Authorization: Bearer).'
    : 'No token: requests carry none. A token is kept in this tab only (sessionStorage).';
}

function openToken() {
  const dialog = /** @type {HTMLDialogElement} */ ($('token-dialog'));
  showTokenState();
  if (!dialog.open) dialog.showModal();
  $('token').focus();
}

function wireToken() {
  const input = /** @type {HTMLInputElement} */ ($('token'));
  const dialog = /** @type {HTMLDialogElement} */ ($('token-dialog'));
  const apply = (/** @type {string} */ token) => {
    setToken(token);
    input.value = '';
    showTokenState();
    clearErrors();
    startStreams();
    refresh();
    dialog.close();
  };
  $('token-open').addEventListener('click', openToken);
  $('token-form').addEventListener('submit', (e) => {
    e.preventDefault();
    apply(input.value.trim());
  });
  $('token-clear').addEventListener('click', () => apply(''));
  $('token-cancel').addEventListener('click', () => dialog.close());
  showTokenState();
}

// ---------------------------------------------------------------------------------------------------
// Start

clusterPage.init({ selectCluster: (name) => chooseCluster(name) });
topicsPage.init({ go });
groupsPage.init({ go });
instancesPage.init();
wireToken();
$('cluster-select').addEventListener('change', (e) => chooseCluster(/** @type {HTMLSelectElement} */ (e.target).value));

let initial = '';
try {
  initial = sessionStorage.getItem(CLUSTER_KEY) ?? '';
} catch {
  initial = '';
}
if (initial && !parseHash().params.has('cluster')) chooseCluster(initial);

onChange((parts) => {
  if (parts.has('info') || parts.has('brokers') || parts.has('cluster')) renderClusterSelect();
  renderCounts();
  if (parts.has('live')) renderLive();
  if (parts.has('errors')) renderErrors();
  pages[active].render(parts);
});
window.addEventListener('hashchange', route);
// "/" jumps to the search box of the page shown, as in most consoles.
document.addEventListener('keydown', (e) => {
  if (e.key !== '/' || e.ctrlKey || e.metaKey || e.altKey) return;
  const t = e.target;
  if (t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement || document.querySelector('dialog[open]')) return;
  const search = document.querySelector(`#page-${active} input[type="search"]:not([hidden])`);
  if (search instanceof HTMLInputElement && search.offsetParent !== null) {
    e.preventDefault();
    search.focus();
  }
});

renderClusterSelect();
renderCounts();
renderLive();
route();
startStreams();
refresh();
setInterval(() => changed('tick'), 10_000); // keep "last seen" ages current
