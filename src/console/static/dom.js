// @ts-check
/**
 * DOM and formatting helpers shared by the console's modules. All text goes in with textContent (or
 * as text nodes), never as HTML.
 */

/** The element with this id (it must exist). */
export function $(/** @type {string} */ id) {
  const e = document.getElementById(id);
  if (!e) throw new Error(`#${id} missing`);
  return e;
}

/**
 * Build an element: `el('td', { class: 'num' }, '8')`. Attributes named on* with a function value
 * become listeners; false, null and undefined attributes and children are skipped.
 * @param {string} tag
 * @param {Record<string, any>} attrs
 * @param {...any} children
 * @returns {HTMLElement}
 */
export function el(tag, attrs = {}, ...children) {
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

/** A number with thousands separators ("10,000"); 64-bit values arrive as strings. */
export const fmt = (/** @type {any} */ v) => Number(v ?? 0).toLocaleString('en-US');

const PERMISSIONS = /** @type {Record<string, string>} */ ({
  PERMISSION_READ_WRITE: 'read-write',
  PERMISSION_READ: 'read only',
  PERMISSION_WRITE: 'write only',
  PERMISSION_NONE: 'none',
});

/** A permission as an operator reads it; unset means read-write (the server's default). */
export const permText = (/** @type {string | undefined} */ p) => PERMISSIONS[p ?? 'PERMISSION_READ_WRITE'] ?? String(p);

/** Whether producers may write there: what Drain takes away. */
export const isWritable = (/** @type {string | undefined} */ p) => !p || p === 'PERMISSION_READ_WRITE' || p === 'PERMISSION_WRITE';

/** A permission badge; `data-permission` carries the enum name (unset shown as read-write). */
export function permBadge(/** @type {string | undefined} */ p, /** @type {Record<string, any>} */ attrs = {}) {
  const name = p ?? 'PERMISSION_READ_WRITE';
  return el('span', { class: `badge perm perm-${name}`, 'data-permission': name, ...attrs }, permText(name));
}

/** "MESSAGE_TYPE_FIFO" → "fifo"; unset → `unset`. */
export const enumText = (/** @type {string | undefined} */ v, /** @type {string} */ prefix, unset = '–') =>
  v ? v.replace(prefix, '').toLowerCase().replace(/_/g, ' ') : unset;

/** "12 s ago" from Unix milliseconds (a number or a string). */
export function ago(/** @type {any} */ ms) {
  const t = Number(ms ?? 0);
  if (!t) return '–';
  const s = Math.max(0, Math.round((Date.now() - t) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 2 * 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

/** ISO time of Unix milliseconds, '' when unset. */
export const iso = (/** @type {any} */ ms) => (Number(ms ?? 0) ? new Date(Number(ms)).toISOString() : '');

/** "a, b , c" → ["a", "b", "c"]. */
export const list = (/** @type {string | null | undefined} */ v) =>
  (v ?? '')
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter(Boolean);

/** A table head; columns named in `num` are right-aligned like their figures. */
export function thead(/** @type {string[]} */ labels, /** @type {string[]} */ num = []) {
  return el('thead', {}, el('tr', {}, labels.map((h) => el('th', { scope: 'col', class: num.includes(h) ? 'num' : undefined }, h))));
}

/** At most `n` names, then "+k more". */
export function names(/** @type {string[]} */ xs, n = 3) {
  return xs.length <= n ? xs.join(', ') : `${xs.slice(0, n).join(', ')} +${xs.length - n} more`;
}
