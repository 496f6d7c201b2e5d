// @ts-check
/**
 * A data table with sorting, filtering and paging, for lists of any length: only one page of rows is
 * in the DOM (10,000 topics cost a 50-row table), the sorted order is cached until the data or the
 * sort changes, and a re-render keeps keyboard focus on the same control of the same row.
 *
 * States: loading (before the source's first answer), error (the source failed before it ever
 * answered), empty, nothing matches the filter, and rows.
 */
import { el } from './dom.js';

/**
 * @template T
 * @typedef {object} Column
 * @property {string} id
 * @property {string} label
 * @property {(row: T) => Node | string} cell
 * @property {(row: T) => string | number} [sort] sort key; a column without one is not sortable
 * @property {boolean} [num] right-aligned, tabular figures
 * @property {boolean} [rowHeader] the cell names the row (a th)
 */

/**
 * @template T
 * @typedef {object} TableOptions
 * @property {Column<T>[]} columns
 * @property {(row: T) => string} key stable identity of a row
 * @property {string} caption
 * @property {string} testid data-testid of the table
 * @property {string} noun plural noun for counts ("topics")
 * @property {string} empty text when there are no rows at all
 * @property {(row: T) => Record<string, any>} [rowAttrs]
 * @property {(row: T) => HTMLElement | null} [after] an extra row under a row (an action's result)
 * @property {{id: string, desc?: boolean}} [sort]
 * @property {number} [pageSize]
 */

const PAGE_SIZES = [25, 50, 100, 200];

/** @template T */
export class DataTable {
  /**
   * @param {HTMLElement} host the table, its pager and its status line are built inside
   * @param {TableOptions<T>} opts
   */
  constructor(host, opts) {
    this.opts = opts;
    /** @type {T[]} */
    this.rows = [];
    /** @type {T[] | null} */
    this.sorted = null;
    /** @type {(row: T) => boolean} */
    this.filter = () => true;
    this.filterText = '';
    /** @type {{state: 'loading' | 'ready' | 'error', error?: {codeName: string, message: string}}} */
    this.load = { state: 'loading' };
    this.sort = opts.sort ?? { id: opts.columns.find((c) => c.sort)?.id ?? '', desc: false };
    this.page = 0;
    this.pageSize = opts.pageSize ?? 50;
    /** Rows matching the filter after the last render. */
    this.matching = 0;

    this.status = el('p', { class: 'table-status', 'data-testid': `${opts.testid}-status`, 'aria-live': 'polite' });
    this.thead = el('thead');
    this.tbody = el('tbody');
    this.table = el('table', { class: 'data', 'data-testid': opts.testid }, el('caption', { class: 'sr-only' }, opts.caption), this.thead, this.tbody);
    this.pager = el('div', { class: 'pager', 'data-testid': `${opts.testid}-pager` });
    host.replaceChildren(el('div', { class: 'scroll' }, this.table), this.pager);
    host.prepend(this.status);
    this.renderHead();
  }

  /** Replace the rows (the sorted order is recomputed at the next render). */
  setRows(/** @type {T[]} */ rows) {
    this.rows = rows;
    this.sorted = null;
    this.load = { state: 'ready' };
  }

  /** The source's state; an error shows only while there are no rows to show. */
  setLoad(/** @type {{state: 'loading' | 'ready' | 'error', error?: {codeName: string, message: string}}} */ load) {
    this.load = load;
  }

  /** Filter rows; `text` is what the user typed (for the "nothing matches" message). Back to page 1. */
  setFilter(/** @type {(row: T) => boolean} */ pred, text = '') {
    this.filter = pred;
    this.filterText = text;
    this.page = 0;
  }

  renderHead() {
    this.thead.replaceChildren(
      el(
        'tr',
        {},
        this.opts.columns.map((c) => {
          const sorted = this.sort.id === c.id;
          const th = el('th', { scope: 'col', class: c.num ? 'num' : undefined, 'aria-sort': sorted ? (this.sort.desc ? 'descending' : 'ascending') : undefined });
          if (!c.sort) th.append(c.label);
          else {
            th.append(
              el(
                'button',
                {
                  type: 'button',
                  class: 'sort',
                  'data-testid': `sort-${c.id}`,
                  onclick: () => {
                    this.sort = { id: c.id, desc: sorted ? !this.sort.desc : false };
                    this.sorted = null;
                    this.page = 0;
                    this.renderHead();
                    this.render();
                  },
                },
                c.label,
                el('span', { class: 'arrow', 'aria-hidden': 'true' }, sorted ? (this.sort.desc ? '▼' : '▲') : '↕'),
              ),
            );
          }
          return th;
        }),
      ),
    );
  }

  /** Rows in the current sort order (cached). */
  ordered() {
    if (this.sorted) return this.sorted;
    const col = this.opts.columns.find((c) => c.id === this.sort.id);
    const rows = [...this.rows];
    if (col?.sort) {
      const key = col.sort;
      const keyed = rows.map((r) => /** @type {[string | number, T]} */ ([key(r), r]));
      const dir = this.sort.desc ? -1 : 1;
      keyed.sort(([a], [b]) => (a < b ? -dir : a > b ? dir : 0));
      this.sorted = keyed.map(([, r]) => r);
    } else this.sorted = rows;
    return this.sorted;
  }

  render() {
    const cols = this.opts.columns.length;
    const message = (/** @type {string} */ cls, /** @type {any[]} */ ...text) =>
      this.tbody.replaceChildren(el('tr', {}, el('td', { colspan: cols, class: `empty ${cls}`, 'data-testid': `${this.opts.testid}-${cls}` }, ...text)));
    this.status.textContent = '';
    this.pager.replaceChildren();
    if (this.load.state === 'loading') {
      message('loading', `Loading ${this.opts.noun}…`);
      this.matching = 0;
      return;
    }
    if (this.load.state === 'error' && this.rows.length === 0) {
      const e = this.load.error;
      message('error', `Could not load ${this.opts.noun}: `, el('strong', {}, e?.codeName ?? 'UNKNOWN'), ` ${e?.message ?? ''}`);
      this.matching = 0;
      return;
    }
    const all = this.ordered();
    const shown = all.filter(this.filter);
    this.matching = shown.length;
    if (all.length === 0) {
      message('none', this.opts.empty);
      return;
    }
    if (shown.length === 0) {
      message('nomatch', `No ${this.opts.noun} match${this.filterText ? ` “${this.filterText}”` : ' the filters'}.`);
      this.status.textContent = `0 of ${all.length.toLocaleString('en-US')} ${this.opts.noun}`;
      return;
    }
    const pages = Math.max(1, Math.ceil(shown.length / this.pageSize));
    this.page = Math.min(this.page, pages - 1);
    const from = this.page * this.pageSize;
    const slice = shown.slice(from, from + this.pageSize);

    // Keep focus on the same control of the same row across the re-render.
    const active = document.activeElement;
    /** @type {string | null} */
    let focusKey = null;
    /** @type {string | null} */
    let focusId = null;
    if (active instanceof HTMLElement && this.tbody.contains(active)) {
      focusKey = active.closest('tr')?.dataset.key ?? null;
      focusId = active.dataset.testid ?? null;
    }

    const trs = [];
    for (const row of slice) {
      const key = this.opts.key(row);
      trs.push(
        el(
          'tr',
          { 'data-key': key, ...(this.opts.rowAttrs?.(row) ?? {}) },
          this.opts.columns.map((c) => el(c.rowHeader ? 'th' : 'td', { class: c.num ? 'num' : undefined, scope: c.rowHeader ? 'row' : undefined }, c.cell(row))),
        ),
      );
      const extra = this.opts.after?.(row);
      if (extra) trs.push(extra);
    }
    this.tbody.replaceChildren(...trs);
    if (focusKey !== null && focusId !== null) {
      const again = [...this.tbody.querySelectorAll(`[data-testid="${CSS.escape(focusId)}"]`)].find((e) => e.closest('tr')?.dataset.key === focusKey);
      if (again instanceof HTMLElement) again.focus();
    }

    const n = (/** @type {number} */ x) => x.toLocaleString('en-US');
    this.status.textContent =
      shown.length === all.length ? `${n(all.length)} ${this.opts.noun}` : `${n(shown.length)} of ${n(all.length)} ${this.opts.noun} match`;
    this.renderPager(from, slice.length, shown.length, pages);
  }

  renderPager(/** @type {number} */ from, /** @type {number} */ count, /** @type {number} */ total, /** @type {number} */ pages) {
    const n = (/** @type {number} */ x) => x.toLocaleString('en-US');
    const go = (/** @type {number} */ p) => () => {
      this.page = Math.max(0, Math.min(pages - 1, p));
      this.render();
    };
    const button = (/** @type {string} */ label, /** @type {string} */ id, /** @type {number} */ p, /** @type {boolean} */ disabled) =>
      el('button', { type: 'button', 'data-testid': `page-${id}`, 'aria-label': label, disabled, onclick: go(p) }, { first: '«', prev: '‹', next: '›', last: '»' }[id]);
    const size = el(
      'select',
      {
        'aria-label': 'Rows per page',
        'data-testid': 'page-size',
        onchange: (/** @type {Event} */ e) => {
          this.pageSize = Number(/** @type {HTMLSelectElement} */ (e.target).value);
          this.page = Math.floor(from / this.pageSize);
          this.render();
        },
      },
      PAGE_SIZES.map((s) => el('option', { value: s, selected: s === this.pageSize }, `${s} per page`)),
    );
    this.pager.replaceChildren(
      el('span', { class: 'range', 'data-testid': 'page-range' }, `${n(from + 1)}–${n(from + count)} of ${n(total)}`),
      el(
        'span',
        { class: 'nav' },
        button('First page', 'first', 0, this.page === 0),
        button('Previous page', 'prev', this.page - 1, this.page === 0),
        el('span', { class: 'pageno', 'data-testid': 'page-number' }, `Page ${n(this.page + 1)} of ${n(pages)}`),
        button('Next page', 'next', this.page + 1, this.page >= pages - 1),
        button('Last page', 'last', pages - 1, this.page >= pages - 1),
      ),
      size,
    );
  }
}
