// @ts-check
/**
 * The lag chart: an inline SVG line chart of total lag per group over time, drawn with DOM calls (no
 * library, nothing inline for the Content-Security-Policy to refuse).
 */

const SVG = 'http://www.w3.org/2000/svg';
export const COLORS = ['#1f5fbf', '#c2410c', '#15803d', '#7e22ce', '#b91c1c', '#0e7490', '#a16207', '#be185d'];
const W = 1240;
const H = 230;
const M = { left: 64, right: 16, top: 14, bottom: 28 };

/**
 * @param {string} tag
 * @param {Record<string, string | number>} attrs
 */
function svgEl(tag, attrs = {}) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

/** A round number at or above v whose quarters are whole numbers, for the y axis. */
function niceMax(/** @type {number} */ v) {
  if (v <= 4) return 4;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 4, 5, 8, 10]) if (m * p >= v && Number.isInteger((m * p) / 4)) return m * p;
  return 10 * p;
}

const fmt = (/** @type {number} */ n) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e4 ? `${(n / 1e3).toFixed(0)}k` : String(Math.round(n)));
const clock = (/** @type {number} */ t) => new Date(t).toLocaleTimeString([], { hour12: false });

/**
 * Draw the chart into `box` (replacing what was there) and the legend into `legend`.
 * @param {HTMLElement} box
 * @param {HTMLElement} legend
 * @param {Map<string, {t: number, lag: number}[]>} series group → samples, oldest first
 */
export function drawLagChart(box, legend, series) {
  const svg = svgEl('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': 'lag-chart-title', 'data-testid': 'lag-chart' });
  const title = svgEl('title', { id: 'lag-chart-title' });
  const names = [...series.keys()];
  title.textContent = names.length
    ? `Total consumer lag over time: ${names.map((n) => `${n} ${series.get(n)?.at(-1)?.lag ?? 0}`).join(', ')}`
    : 'Total consumer lag over time: no groups yet';
  svg.append(title);

  let t0 = Infinity;
  let t1 = -Infinity;
  let max = 0;
  for (const points of series.values()) {
    for (const p of points) {
      t0 = Math.min(t0, p.t);
      t1 = Math.max(t1, p.t);
      max = Math.max(max, p.lag);
    }
  }
  const yMax = niceMax(max);
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const x = (/** @type {number} */ t) => (t1 > t0 ? M.left + ((t - t0) / (t1 - t0)) * plotW : M.left + plotW);
  const y = (/** @type {number} */ v) => M.top + plotH - (v / yMax) * plotH;

  // Axes, grid and labels.
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    svg.append(svgEl('line', { class: 'axis', x1: M.left, x2: W - M.right, y1: y(v), y2: y(v) }));
    const label = svgEl('text', { x: M.left - 6, y: y(v) + 4, 'text-anchor': 'end' });
    label.textContent = fmt(v);
    svg.append(label);
  }
  if (Number.isFinite(t0)) {
    const left = svgEl('text', { x: M.left, y: H - 8, 'text-anchor': 'start' });
    left.textContent = clock(t0);
    const right = svgEl('text', { x: W - M.right, y: H - 8, 'text-anchor': 'end' });
    right.textContent = clock(t1);
    svg.append(left, right);
  } else {
    const empty = svgEl('text', { x: M.left + plotW / 2, y: M.top + plotH / 2, 'text-anchor': 'middle' });
    empty.textContent = 'no lag samples yet';
    svg.append(empty);
  }

  // One line per group.
  legend.replaceChildren();
  names.forEach((name, i) => {
    const points = series.get(name) ?? [];
    if (points.length === 0) return;
    const color = COLORS[i % COLORS.length];
    let d = points.map((p, j) => `${j === 0 ? 'M' : 'L'}${x(p.t).toFixed(1)},${y(p.lag).toFixed(1)}`).join('');
    // A single sample is drawn as a short tick at the right edge, so it is visible.
    if (points.length === 1) d = `M${(x(points[0].t) - 8).toFixed(1)},${y(points[0].lag).toFixed(1)}${d.replace('M', 'L')}`;
    const path = svgEl('path', { class: 'line', d, stroke: color, 'data-testid': 'lag-line', 'data-group': name });
    const tip = svgEl('title');
    tip.textContent = `${name}: ${points.at(-1)?.lag ?? 0}`;
    path.append(tip);
    svg.append(path);

    const li = document.createElement('li');
    const swatch = svgEl('svg', { viewBox: '0 0 12 12', 'aria-hidden': 'true' });
    swatch.append(svgEl('rect', { width: 12, height: 12, fill: color }));
    li.append(swatch, `${name}: ${(points.at(-1)?.lag ?? 0).toLocaleString('en-US')}`);
    legend.append(li);
  });
  box.replaceChildren(svg);
}
