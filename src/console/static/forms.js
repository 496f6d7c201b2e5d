// @ts-check
/**
 * The topic and group dialogs: create (on a cluster, or on named replica sets) and edit (prefilled
 * from Admin/GetTopic or Admin/GetGroup, applied wherever the entity exists, keeping the fields the
 * form does not show, such as attributes and retry back-off). The outcome is shown in the dialog,
 * under the button that made it.
 */
import { call, GatewayError } from './api.js';
import { $, el, list } from './dom.js';
import { clusterNames, scoped, store } from './store.js';
import { outcomeView, pendingView, toastOutcome, write } from './writes.js';

const NAME = /^[%|a-zA-Z0-9_-]+$/;

/** @param {string} id */
const input = (id) => /** @type {HTMLInputElement} */ ($(id));
/** @param {string} id */
const select = (id) => /** @type {HTMLSelectElement} */ ($(id));

/** Fill a cluster select with the known clusters, choosing `chosen`. */
function fillClusters(/** @type {HTMLSelectElement} */ sel, /** @type {string} */ chosen) {
  const names = clusterNames();
  sel.replaceChildren(...names.map((n) => el('option', { value: n, selected: n === chosen }, n)));
  if (!names.includes(chosen) && names.length) sel.value = names[0];
}

/** Replica set names for the datalists. */
function fillReplicaSets() {
  const sets = [...new Set([...store.brokers.values()].map((b) => b.brokerName ?? ''))].filter(Boolean).sort();
  $('replica-set-names').replaceChildren(...sets.map((n) => el('option', { value: n })));
}

/** "key=value" lines ⇄ an attributes map. */
const attrsText = (/** @type {Record<string, string> | undefined} */ a) =>
  Object.entries(a ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');
function attrsOf(/** @type {string} */ text) {
  /** @type {Record<string, string>} */
  const out = {};
  for (const line of text.split('\n').map((s) => s.trim()).filter(Boolean)) {
    const i = line.indexOf('=');
    if (i <= 0) throw new Error(`attribute “${line}” is not key=value`);
    out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

/** A dialog in one of its modes, with the state the submit handler needs. */
class FormDialog {
  /**
   * @param {string} prefix "topic" or "group"
   * @param {(mode: string, name: string) => Promise<import('./writes.js').Outcome>} submit
   */
  constructor(prefix, submit) {
    this.prefix = prefix;
    this.dialog = /** @type {HTMLDialogElement} */ ($(`${prefix}-dialog`));
    this.form = /** @type {HTMLFormElement} */ ($(`${prefix}-form`));
    this.submitButton = /** @type {HTMLButtonElement} */ ($(`${prefix}-submit`));
    this.cancelButton = /** @type {HTMLButtonElement} */ ($(`${prefix}-cancel`));
    this.result = $(`${prefix}-result`);
    this.mode = 'create';
    this.running = false;
    this.cancelButton.addEventListener('click', () => this.dialog.close());
    this.dialog.addEventListener('cancel', (e) => {
      if (this.running) e.preventDefault();
    });
    this.form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (this.running) return;
      const name = input(`${prefix}-name`).value.trim();
      this.running = true;
      this.submitButton.disabled = true;
      this.result.replaceChildren(pendingView(this.mode === 'edit' ? 'Saving…' : 'Creating…'));
      let outcome;
      try {
        outcome = await submit(this.mode, name);
      } catch (err) {
        // Refused before sending (a field the form checks itself).
        this.result.replaceChildren(el('p', { class: 'status err', 'data-testid': 'result-status', 'data-code': 'INVALID_INPUT' }, String(/** @type {Error} */ (err).message)));
        return;
      } finally {
        this.running = false;
        this.submitButton.disabled = false;
      }
      this.result.replaceChildren(outcomeView(outcome));
      const subject = `${prefix === 'topic' ? 'Topic' : 'Group'} ${name} ${this.mode === 'edit' ? 'updated' : 'created'}`;
      toastOutcome(subject, outcome);
      if (!outcome.err) {
        // Done: the outcome stays in view; the only thing left to do is close.
        this.submitButton.hidden = true;
        this.cancelButton.textContent = 'Close';
        this.cancelButton.focus();
      }
    });
  }

  /** Open in create or edit mode. */
  open(/** @type {'create' | 'edit'} */ mode, /** @type {string} */ title) {
    this.mode = mode;
    $(`${this.prefix}-dialog-title`).textContent = title;
    this.result.replaceChildren();
    this.submitButton.hidden = false;
    this.submitButton.disabled = false;
    this.submitButton.textContent = mode === 'edit' ? 'Save changes' : `Create ${this.prefix}`;
    this.cancelButton.textContent = 'Cancel';
    this.dialog.dataset.mode = mode;
    input(`${this.prefix}-name`).readOnly = mode === 'edit';
    $(`${this.prefix}-target`).hidden = mode === 'edit';
    $(`${this.prefix}-where`).hidden = mode !== 'edit';
    fillClusters(select(`${this.prefix}-cluster`), store.cluster);
    input(`${this.prefix}-brokers`).value = '';
    fillReplicaSets();
    if (!this.dialog.open) this.dialog.showModal();
    const first = mode === 'edit' ? this.form.querySelector('input:not([readonly]), select, textarea') : input(`${this.prefix}-name`);
    if (first instanceof HTMLElement) first.focus();
  }

  /** Show that the current configuration could not be read (edit mode). */
  loadFailed(/** @type {unknown} */ e) {
    const err = e instanceof GatewayError ? e : new GatewayError({ message: String(e) }, 0);
    this.result.replaceChildren(el('p', { class: 'status err', 'data-testid': 'result-status', 'data-code': err.codeName }, `Could not read the current configuration: ${err.codeName}: ${err.message}`));
    this.submitButton.disabled = true;
  }
}

/** Where a create goes: named replica sets, else the chosen cluster. */
function targets(/** @type {string} */ prefix) {
  const brokerNames = list(input(`${prefix}-brokers`).value);
  if (brokerNames.length) return { brokerNames };
  const cluster = select(`${prefix}-cluster`).value;
  if (!cluster) throw new Error('choose a cluster or name the replica sets');
  return { cluster };
}

function checkName(/** @type {string} */ name, /** @type {number} */ max) {
  if (!name) throw new Error('Name: required');
  if (name.length > max || !NAME.test(name)) throw new Error(`Name: letters, digits, %, |, _ and - only, at most ${max} characters`);
}

// ---------------------------------------------------------------------------------------------------
// Topics

/** @type {any} the configuration being edited (fields the form does not show are kept) */
let topicBase = {};

const topicDialog = new FormDialog('topic', async (mode, name) => {
  checkName(name, 127);
  const queues = (/** @type {string} */ id) => {
    const n = Number(input(id).value);
    if (!Number.isInteger(n) || n < 1 || n > 1024) throw new Error(`${id === 'topic-read' ? 'Read' : 'Write'} queues: a whole number from 1 to 1024`);
    return n;
  };
  const topic = {
    ...topicBase,
    name,
    readQueueNums: queues('topic-read'),
    writeQueueNums: queues('topic-write'),
    permission: select('topic-perm').value,
    messageType: select('topic-type').value,
    attributes: attrsOf(/** @type {HTMLTextAreaElement} */ ($('topic-attrs')).value),
  };
  if (mode === 'edit') return write('Admin/UpdateTopic', { topic });
  return write('Admin/CreateTopic', { topic, ...targets('topic') });
});

/** Open the topic dialog to create a topic. */
export function createTopic() {
  topicBase = {};
  input('topic-name').value = '';
  input('topic-read').value = '8';
  input('topic-write').value = '8';
  select('topic-perm').value = 'PERMISSION_READ_WRITE';
  select('topic-type').value = 'MESSAGE_TYPE_NORMAL';
  /** @type {HTMLTextAreaElement} */ ($('topic-attrs')).value = '';
  topicDialog.open('create', 'Create topic');
}

/** Open the topic dialog on a topic's current configuration. */
export async function editTopic(/** @type {string} */ name) {
  topicBase = {};
  input('topic-name').value = name;
  const route = store.routes.get(name);
  const holders = (route?.brokers ?? []).map((/** @type {any} */ b) => b.brokerName);
  $('topic-where').textContent = `Applies wherever the topic exists${holders.length ? `: ${holders.join(', ')}` : ''}.`;
  topicDialog.open('edit', `Edit topic ${name}`);
  topicDialog.submitButton.disabled = true;
  topicDialog.result.replaceChildren(pendingView('Reading the current configuration…'));
  try {
    const t = await call('Admin/GetTopic', { topic: name });
    const configs = (t.brokers ?? []).map((/** @type {any} */ b) => b.config ?? {});
    const c = configs[0] ?? {};
    topicBase = c;
    input('topic-read').value = String(c.readQueueNums ?? 8);
    input('topic-write').value = String(c.writeQueueNums ?? 8);
    select('topic-perm').value = c.permission ?? 'PERMISSION_READ_WRITE';
    select('topic-type').value = c.messageType ?? 'MESSAGE_TYPE_NORMAL';
    /** @type {HTMLTextAreaElement} */ ($('topic-attrs')).value = attrsText(c.attributes);
    const differ = new Set(configs.map((/** @type {any} */ x) => JSON.stringify(x))).size > 1;
    topicDialog.result.replaceChildren(
      ...(differ ? [el('p', { class: 'status warn', 'data-testid': 'config-differs' }, 'The replica sets hold different configurations; saving sets this one on all of them.')] : []),
    );
    topicDialog.submitButton.disabled = false;
  } catch (e) {
    topicDialog.loadFailed(e);
  }
}

// ---------------------------------------------------------------------------------------------------
// Groups

/** @type {any} */
let groupBase = {};

/** "orders" | "orders: TagA || TagB" | "orders sql: a > 1" ⇄ Subscription. */
function subscriptionOf(/** @type {string} */ line) {
  const sql = /^([^\s:]+)\s+sql\s*:\s*(.+)$/i.exec(line);
  if (sql) return { topic: sql[1], expression: sql[2].trim(), filterType: 'FILTER_TYPE_SQL92' };
  const i = line.indexOf(':');
  if (i < 0) return { topic: line };
  const expression = line.slice(i + 1).trim();
  return { topic: line.slice(0, i).trim(), ...(expression && expression !== '*' ? { expression, filterType: 'FILTER_TYPE_TAG' } : {}) };
}
const subscriptionText = (/** @type {any} */ s) =>
  !s.expression || s.expression === '*' ? s.topic : s.filterType === 'FILTER_TYPE_SQL92' ? `${s.topic} sql: ${s.expression}` : `${s.topic}: ${s.expression}`;

const groupDialog = new FormDialog('group', async (mode, name) => {
  checkName(name, 120);
  const attempts = Number(input('group-attempts').value || 0);
  if (!Number.isInteger(attempts) || attempts < 0) throw new Error('Max attempts: a whole number (0 = the broker’s default)');
  const group = {
    ...groupBase,
    name,
    consumeMode: select('group-mode').value,
    subscriptions: /** @type {HTMLTextAreaElement} */ ($('group-subs'))
      .value.split('\n')
      .map((s) => s.trim())
      .filter(Boolean)
      .map(subscriptionOf),
    retryPolicy: { ...(groupBase.retryPolicy ?? {}), maxAttempts: attempts },
    consumeOrderly: input('group-orderly').checked,
  };
  if (mode === 'edit') return write('Admin/UpdateGroup', { group });
  return write('Admin/CreateGroup', { group, ...targets('group') });
});

/** Open the group dialog to create a group. */
export function createGroup() {
  groupBase = {};
  input('group-name').value = '';
  select('group-mode').value = 'CONSUME_MODE_CLUSTERING';
  /** @type {HTMLTextAreaElement} */ ($('group-subs')).value = '';
  input('group-attempts').value = '16';
  input('group-orderly').checked = false;
  groupDialog.open('create', 'Create consumer group');
}

/** Open the group dialog on a group's current configuration. */
export async function editGroup(/** @type {string} */ name) {
  groupBase = {};
  input('group-name').value = name;
  const g = scoped().groups.find((x) => x.name === name);
  $('group-where').textContent = `Applies wherever the group exists${g?.brokerNames?.length ? `: ${g.brokerNames.join(', ')}` : ''}.`;
  groupDialog.open('edit', `Edit consumer group ${name}`);
  groupDialog.submitButton.disabled = true;
  groupDialog.result.replaceChildren(pendingView('Reading the current configuration…'));
  try {
    const r = await call('Admin/GetGroup', { group: name });
    const configs = (r.brokers ?? []).map((/** @type {any} */ b) => b.config ?? {});
    const c = configs[0] ?? {};
    groupBase = c;
    select('group-mode').value = c.consumeMode ?? 'CONSUME_MODE_CLUSTERING';
    /** @type {HTMLTextAreaElement} */ ($('group-subs')).value = (c.subscriptions ?? []).map(subscriptionText).join('\n');
    input('group-attempts').value = String(c.retryPolicy?.maxAttempts ?? 0);
    input('group-orderly').checked = Boolean(c.consumeOrderly);
    const differ = new Set(configs.map((/** @type {any} */ x) => JSON.stringify(x))).size > 1;
    groupDialog.result.replaceChildren(
      ...(differ ? [el('p', { class: 'status warn', 'data-testid': 'config-differs' }, 'The replica sets hold different configurations; saving sets this one on all of them.')] : []),
    );
    groupDialog.submitButton.disabled = false;
  } catch (e) {
    groupDialog.loadFailed(e);
  }
}
