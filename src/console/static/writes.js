// @ts-check
/**
 * Admin writes and how their outcomes are shown: next to the action that made them (in its dialog,
 * or in a line under its table row), with every broker's result, and in a short toast.
 * Destructive actions (delete, drain) ask first, in a dialog naming what will happen.
 */
import { call, GatewayError } from './api.js';
import { $, el, enumText } from './dom.js';
import { refreshSoon } from './store.js';

/** @typedef {{method: string, err: GatewayError | null, results: any[]}} Outcome */

/**
 * Call an Admin write; never throws. Refreshes the polled views afterwards.
 * @param {string} method "Admin/CreateTopic"
 * @param {object} body
 * @returns {Promise<Outcome>}
 */
export async function write(method, body) {
  try {
    const r = await call(method, body);
    return { method, err: null, results: r.results ?? [] };
  } catch (e) {
    const err = e instanceof GatewayError ? e : new GatewayError({ message: String(e) }, 0);
    return { method, err, results: err.results };
  } finally {
    refreshSoon();
  }
}

const okCount = (/** @type {any[]} */ results) => results.filter((r) => r.outcome === 'COMMAND_OUTCOME_OK').length;

/** One line: "OK: applied by 2 of 2 brokers" or "ALREADY_EXISTS (HTTP 409): …". */
export function summary(/** @type {Outcome} */ o) {
  const n = o.results.length;
  if (!o.err) return `OK: applied by ${n} broker${n === 1 ? '' : 's'}`;
  const http = o.err.httpStatus ? ` (HTTP ${o.err.httpStatus})` : '';
  return `${o.err.codeName}${http}: ${o.err.message}${n ? ` (${okCount(o.results)} of ${n} brokers OK)` : ''}`;
}

/** The status and a table of every broker's result. */
export function outcomeView(/** @type {Outcome} */ o) {
  const status = el(
    'p',
    { class: o.err ? 'status err' : 'status ok', 'data-testid': 'result-status', 'data-code': o.err ? o.err.codeName : 'OK' },
    el('strong', {}, o.err ? o.err.codeName : 'OK'),
    o.err ? `${o.err.httpStatus ? ` (HTTP ${o.err.httpStatus})` : ''} ${o.method}: ${o.err.message}` : ` ${o.method} applied by ${o.results.length} broker${o.results.length === 1 ? '' : 's'}`,
  );
  if (o.results.length === 0) return el('div', { class: 'outcome' }, status);
  return el(
    'div',
    { class: 'outcome' },
    status,
    el(
      'table',
      { class: 'results', 'data-testid': 'result-table' },
      el('caption', { class: 'sr-only' }, 'Outcome per broker'),
      el('thead', {}, el('tr', {}, ['Broker', 'Outcome', 'Detail'].map((h) => el('th', { scope: 'col' }, h)))),
      el(
        'tbody',
        {},
        o.results.map((r) =>
          el(
            'tr',
            { 'data-testid': 'result-row', 'data-outcome': r.outcome ?? 'COMMAND_OUTCOME_UNSPECIFIED' },
            el('th', { scope: 'row' }, `${r.cluster ?? ''}/${r.brokerName ?? ''}/${r.brokerId ?? 0}`),
            el('td', { class: r.outcome === 'COMMAND_OUTCOME_OK' ? 'outcome-ok' : 'outcome-bad' }, enumText(r.outcome, 'COMMAND_OUTCOME_', 'unspecified')),
            el('td', {}, r.message ?? ''),
          ),
        ),
      ),
    ),
  );
}

/** A pending line while a write runs. */
export const pendingView = (/** @type {string} */ text) => el('p', { class: 'status pending', 'data-testid': 'result-pending' }, el('span', { class: 'spinner', 'aria-hidden': 'true' }), text);

/** A short notice in the corner, gone after a few seconds (errors stay longer). */
export function toast(/** @type {'ok' | 'err' | 'info'} */ kind, /** @type {string} */ text) {
  const box = $('toasts');
  const t = el(
    'div',
    { class: `toast ${kind}`, 'data-testid': 'toast', 'data-kind': kind, role: kind === 'err' ? 'alert' : 'status' },
    el('span', {}, text),
    el('button', { type: 'button', class: 'close', 'aria-label': 'Dismiss', onclick: () => t.remove() }, '×'),
  );
  box.append(t);
  while (box.children.length > 4) box.firstElementChild?.remove();
  setTimeout(() => t.remove(), kind === 'err' ? 12_000 : 6_000);
}

/** Toast an outcome with a subject ("Topic orders deleted"). */
export function toastOutcome(/** @type {string} */ subject, /** @type {Outcome} */ o) {
  toast(o.err ? 'err' : 'ok', o.err ? `${subject}: ${summary(o)}` : `${subject} (${okCount(o.results)} of ${o.results.length} brokers OK)`);
}

/**
 * Ask before a destructive action, then run it and show its outcome in the same dialog.
 * Resolves with the outcome, or null when the operator cancelled.
 * @param {{title: string, body: (Node | string)[], confirm: string, danger?: boolean, run: () => Promise<Outcome>}} o
 * @returns {Promise<Outcome | null>}
 */
export function confirmAction(o) {
  const dialog = /** @type {HTMLDialogElement} */ ($('confirm-dialog'));
  const ok = /** @type {HTMLButtonElement} */ ($('confirm-ok'));
  const cancel = /** @type {HTMLButtonElement} */ ($('confirm-cancel'));
  const result = $('confirm-result');
  $('confirm-title').textContent = o.title;
  $('confirm-body').replaceChildren(...o.body.map((b) => (typeof b === 'string' ? el('p', {}, b) : b)));
  result.replaceChildren();
  ok.textContent = o.confirm;
  ok.className = o.danger === false ? 'primary' : 'danger';
  ok.hidden = false;
  ok.disabled = false;
  cancel.textContent = 'Cancel';
  cancel.disabled = false;
  return new Promise((resolve) => {
    /** @type {Outcome | null} */
    let outcome = null;
    let running = false;
    // Escape closes the dialog, except while the write runs (its outcome is shown here).
    const onEscape = (/** @type {Event} */ e) => {
      if (running) e.preventDefault();
    };
    const onOk = async () => {
      ok.disabled = true;
      cancel.disabled = true;
      running = true;
      result.replaceChildren(pendingView(`${o.confirm}…`));
      outcome = await o.run();
      running = false;
      result.replaceChildren(outcomeView(outcome));
      ok.hidden = true;
      cancel.disabled = false;
      cancel.textContent = 'Close';
      cancel.focus();
    };
    const onClose = () => {
      ok.removeEventListener('click', onOk);
      cancel.removeEventListener('click', onCancel);
      dialog.removeEventListener('close', onClose);
      dialog.removeEventListener('cancel', onEscape);
      resolve(outcome);
    };
    const onCancel = () => dialog.close();
    ok.addEventListener('click', onOk);
    cancel.addEventListener('click', onCancel);
    dialog.addEventListener('close', onClose);
    dialog.addEventListener('cancel', onEscape);
    dialog.showModal();
    cancel.focus(); // the safe choice has the focus
  });
}
