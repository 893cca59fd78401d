// A small SVG line chart (no library): lineChart(title, points[[x,y]], opts).
const NS = 'http://www.w3.org/2000/svg';

function s(tag, attrs, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

function nice(v) {
  if (!Number.isFinite(v)) return '';
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(1);
  return String(Number(v.toPrecision(4)));
}

// Up to 6 ticks on round numbers (whole numbers when x counts steps).
function xTicks(lo, hi, integers) {
  const raw = (hi - lo) / 5;
  const mag = 10 ** Math.floor(Math.log10(raw || 1));
  let step = [1, 2, 5, 10].map((m) => m * mag).find((v) => v >= raw) || raw;
  if (integers) step = Math.max(1, Math.round(step));
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(Number(v.toPrecision(10)));
  return out;
}

export function lineChart(title, points, { xLabel = '', width = 360, height = 200, dots = false, color = '#2f6fdf', highlight = null } = {}) {
  const pad = { l: 48, r: 12, t: 26, b: 30 };
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, class: 'chart', role: 'img', 'aria-label': title, preserveAspectRatio: 'xMidYMid meet' });
  svg.appendChild(s('text', { x: pad.l, y: 16, class: 'chart-title' }, title));
  const pts = points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  if (!pts.length) return svg;
  let [x0, x1] = [Math.min(...pts.map((p) => p[0])), Math.max(...pts.map((p) => p[0]))];
  let [y0, y1] = [Math.min(...pts.map((p) => p[1])), Math.max(...pts.map((p) => p[1]))];
  if (x0 === x1) { x0 -= 1; x1 += 1; }
  if (y0 === y1) { y0 -= Math.abs(y0) * 0.1 || 1; y1 += Math.abs(y1) * 0.1 || 1; }
  const span = y1 - y0; y0 -= span * 0.05; y1 += span * 0.05;
  const W = width - pad.l - pad.r; const H = height - pad.t - pad.b;
  const X = (x) => pad.l + ((x - x0) / (x1 - x0)) * W;
  const Y = (y) => pad.t + H - ((y - y0) / (y1 - y0)) * H;
  for (let i = 0; i <= 4; i += 1) {
    const yv = y0 + ((y1 - y0) * i) / 4;
    svg.appendChild(s('line', { x1: pad.l, x2: pad.l + W, y1: Y(yv), y2: Y(yv), class: 'grid' }));
    svg.appendChild(s('text', { x: pad.l - 6, y: Y(yv) + 4, class: 'tick', 'text-anchor': 'end' }, nice(yv)));
  }
  for (const xv of xTicks(x0, x1, pts.every(([x]) => Number.isInteger(x)))) {
    svg.appendChild(s('text', { x: X(xv), y: pad.t + H + 16, class: 'tick', 'text-anchor': 'middle' }, nice(xv)));
  }
  if (xLabel) svg.appendChild(s('text', { x: pad.l + W, y: height - 2, class: 'tick', 'text-anchor': 'end' }, xLabel));
  svg.appendChild(s('polyline', {
    points: pts.map(([x, y]) => `${X(x).toFixed(1)},${Y(y).toFixed(1)}`).join(' '),
    fill: 'none', stroke: color, 'stroke-width': 2, 'stroke-linejoin': 'round',
  }));
  if (dots || pts.length < 30) {
    for (const [x, y] of pts) {
      const hl = highlight !== null && x === highlight;
      const c = s('circle', { cx: X(x), cy: Y(y), r: hl ? 5 : 3, fill: hl ? '#e0a100' : color });
      c.appendChild(s('title', {}, `${nice(x)}: ${nice(y)}`));
      svg.appendChild(c);
    }
  }
  const last = pts[pts.length - 1];
  svg.appendChild(s('text', { x: pad.l + W, y: 16, class: 'chart-last', 'text-anchor': 'end' }, nice(last[1])));
  return svg;
}

// Horizontal bars: [[label, value 0..1], ...]
export function barChart(rows, { width = 420, barH = 22 } = {}) {
  const height = rows.length * (barH + 8) + 8;
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, class: 'chart bars', role: 'img' });
  const labelW = 140;
  rows.forEach(([label, value], i) => {
    const y = 8 + i * (barH + 8);
    svg.appendChild(s('text', { x: labelW - 8, y: y + barH * 0.7, class: 'tick', 'text-anchor': 'end' }, label));
    const w = Math.max(0, Math.min(1, value || 0)) * (width - labelW - 60);
    svg.appendChild(s('rect', { x: labelW, y, width: w, height: barH, rx: 3, class: 'bar' }));
    svg.appendChild(s('text', { x: labelW + w + 6, y: y + barH * 0.7, class: 'tick' }, value === null || value === undefined ? '—' : nice(value)));
  });
  return svg;
}
