// Charts as SVG written here (no library): donut, horizontal bars, histogram, scatter, heatmap.
// Every mark carries a class (slice, bar, point, cell) and a <title> with its exact value, so a
// reader can hover or focus for numbers, and the tests can count marks.

const NS = "http://www.w3.org/2000/svg";
const PALETTE = 10;

export function svgEl(name, attrs = {}, ...children) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) e.setAttribute(k, String(v));
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

function titled(mark, text) {
  mark.append(svgEl("title", {}, text));
  return mark;
}

export function fmt(n, digits = 3) {
  if (n === null || n === undefined || Number.isNaN(n)) return "–";
  if (!Number.isFinite(n)) return String(n);
  if (Number.isInteger(n) && Math.abs(n) < 1e15) return n.toLocaleString("en-US");
  const a = Math.abs(n);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return n.toExponential(2);
  return Number(n.toPrecision(digits)).toLocaleString("en-US", { maximumFractionDigits: 6 });
}

/// Round tick values covering [lo, hi].
export function ticks(lo, hi, count = 5) {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (lo === hi) return [lo];
  const raw = (hi - lo) / count;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function frame(width, height, label) {
  return svgEl("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label, class: "chart", preserveAspectRatio: "xMidYMid meet" });
}

function empty(label, text) {
  const d = document.createElement("p");
  d.className = "chart-empty";
  d.textContent = text || `No data for ${label.toLowerCase()}.`;
  return d;
}

/// A donut of `items` [{label, value}], with a legend. One slice per item with value > 0.
export function donut(items, { label, unit = "", center, centerLabel } = {}) {
  const data = items.filter((d) => d.value > 0);
  const box = document.createElement("figure");
  box.className = "donut-box";
  const cap = document.createElement("figcaption");
  cap.textContent = label;
  box.append(cap);
  if (!data.length) { box.append(empty(label, "Nothing to count.")); return box; }
  const total = data.reduce((s, d) => s + d.value, 0);
  const size = 160, r = 70, ir = 42, cx = size / 2, cy = size / 2;
  const svg = frame(size, size, `${label}: ${data.length} values`);
  svg.classList.add("donut");
  let a0 = -Math.PI / 2;
  data.forEach((d, i) => {
    const frac = d.value / total;
    const text = `${d.label}: ${fmt(d.value)}${unit} (${(frac * 100).toFixed(1)} %)`;
    let path;
    if (frac >= 0.99999) {
      // A full ring: two half arcs.
      path = `M ${cx} ${cy - r} A ${r} ${r} 0 1 1 ${cx} ${cy + r} A ${r} ${r} 0 1 1 ${cx} ${cy - r} Z `
        + `M ${cx} ${cy - ir} A ${ir} ${ir} 0 1 0 ${cx} ${cy + ir} A ${ir} ${ir} 0 1 0 ${cx} ${cy - ir} Z`;
    } else {
      const a1 = a0 + frac * 2 * Math.PI;
      const large = a1 - a0 > Math.PI ? 1 : 0;
      const p = (rad, a) => `${(cx + rad * Math.cos(a)).toFixed(2)} ${(cy + rad * Math.sin(a)).toFixed(2)}`;
      path = `M ${p(r, a0)} A ${r} ${r} 0 ${large} 1 ${p(r, a1)} L ${p(ir, a1)} A ${ir} ${ir} 0 ${large} 0 ${p(ir, a0)} Z`;
      a0 = a1;
    }
    svg.append(titled(svgEl("path", { d: path, class: `slice c${i % PALETTE}`, "fill-rule": "evenodd", "data-label": d.label, "data-value": d.value }), text));
  });
  svg.append(svgEl("text", { x: cx, y: cy + (centerLabel ? 2 : 6), class: "donut-total", "text-anchor": "middle" }, center ?? fmt(total)));
  if (centerLabel) svg.append(svgEl("text", { x: cx, y: cy + 17, class: "donut-sub", "text-anchor": "middle" }, centerLabel));
  box.append(svg);
  const legend = document.createElement("ul");
  legend.className = "legend";
  data.slice(0, 8).forEach((d, i) => {
    const li = document.createElement("li");
    const sw = document.createElement("span");
    sw.className = `swatch c${i % PALETTE}`;
    li.append(sw, document.createTextNode(`${d.label} `));
    const n = document.createElement("span");
    n.className = "num";
    n.textContent = fmt(d.value);
    li.append(n);
    legend.append(li);
  });
  if (data.length > 8) {
    const li = document.createElement("li");
    li.className = "muted";
    li.textContent = `+ ${data.length - 8} more (hover the ring)`;
    legend.append(li);
  }
  box.append(legend);
  return box;
}

/// Horizontal bars of `items` [{label, value, note?}]; `limit` bars at most (the rest summed in the caption).
export function bars(items, { label, unit = "", limit = 12, onPick } = {}) {
  const box = document.createElement("figure");
  box.className = "bars-box";
  const cap = document.createElement("figcaption");
  box.append(cap);
  cap.textContent = label;
  const data = items.filter((d) => d.value > 0);
  if (!data.length) { box.append(empty(label, "Nothing to count.")); return box; }
  const shown = data.slice(0, limit);
  if (data.length > limit) cap.textContent = `${label} (top ${limit} of ${data.length})`;
  const rowH = 22, labelW = 120, width = 340, valueW = 56;
  const height = shown.length * rowH + 6;
  const max = Math.max(...shown.map((d) => d.value));
  const svg = frame(width, height, `${label}: ${shown.length} bars`);
  svg.classList.add("bars");
  if (onPick) svg.setAttribute("role", "group"); // its bars are buttons, which role=img would hide
  shown.forEach((d, i) => {
    const y = i * rowH + 3;
    const w = Math.max(1, ((width - labelW - valueW) * d.value) / max);
    const lab = d.label.length > 18 ? d.label.slice(0, 17) + "…" : d.label;
    svg.append(svgEl("text", { x: labelW - 6, y: y + 14, class: "axis-label", "text-anchor": "end" }, lab));
    const bar = titled(svgEl("rect", { x: labelW, y, width: w.toFixed(2), height: rowH - 6, class: `bar c${i % PALETTE}`, "data-label": d.label, "data-value": d.value }),
      `${d.label}: ${fmt(d.value)}${unit}${d.note ? " — " + d.note : ""}`);
    if (onPick) {
      bar.setAttribute("tabindex", "0");
      bar.setAttribute("role", "button");
      bar.addEventListener("click", () => onPick(d));
      bar.addEventListener("keydown", (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); onPick(d); } });
    }
    svg.append(bar);
    svg.append(svgEl("text", { x: labelW + w + 4, y: y + 14, class: "value-label" }, fmt(d.value) + unit));
  });
  box.append(svg);
  return box;
}

function axes(svg, { x0, x1, y0, y1, left, right, top, bottom, xLabel, yLabel, xTicks, yTicks, sx, sy, width, height }) {
  svg.append(svgEl("line", { x1: left, y1: height - bottom, x2: width - right, y2: height - bottom, class: "axis" }));
  svg.append(svgEl("line", { x1: left, y1: top, x2: left, y2: height - bottom, class: "axis" }));
  for (const t of xTicks) {
    const x = sx(t);
    svg.append(svgEl("line", { x1: x, y1: height - bottom, x2: x, y2: height - bottom + 4, class: "axis" }));
    svg.append(svgEl("text", { x, y: height - bottom + 16, class: "tick", "text-anchor": "middle" }, fmt(t)));
  }
  for (const t of yTicks) {
    const y = sy(t);
    svg.append(svgEl("line", { x1: left - 4, y1: y, x2: width - right, y2: y, class: "grid" }));
    svg.append(svgEl("text", { x: left - 6, y: y + 4, class: "tick", "text-anchor": "end" }, fmt(t)));
  }
  if (xLabel) svg.append(svgEl("text", { x: (left + width - right) / 2, y: height - 4, class: "axis-title", "text-anchor": "middle" }, xLabel));
  if (yLabel) svg.append(svgEl("text", { x: 12, y: (top + height - bottom) / 2, class: "axis-title", "text-anchor": "middle", transform: `rotate(-90 12 ${(top + height - bottom) / 2})` }, yLabel));
}

/// A histogram from [[binStart, count]] with bins `binWidth` wide; more than `maxBars` bins are merged.
/// `marks` are vertical reference lines [{x, label}].
export function histogram(bins, { label, binWidth = 1, xLabel = "value", yLabel = "count", maxBars = 120, marks = [], log = false } = {}) {
  const box = document.createElement("figure");
  box.className = "hist-box";
  const cap = document.createElement("figcaption");
  cap.textContent = label;
  box.append(cap);
  if (!bins || !bins.length) { box.append(empty(label)); return box; }
  let data = bins.map(([x, c]) => ({ x, w: binWidth, c })).sort((a, b) => a.x - b.x);
  const lo = data[0].x, hi = data[data.length - 1].x + binWidth;
  if (data.length > maxBars) {
    const w = (hi - lo) / maxBars;
    const merged = Array.from({ length: maxBars }, (_, i) => ({ x: lo + i * w, w, c: 0 }));
    for (const d of data) merged[Math.min(maxBars - 1, Math.floor((d.x - lo) / w))].c += d.c;
    data = merged.filter((d) => d.c > 0);
    cap.textContent = `${label} (${bins.length} bins merged into ${maxBars})`;
  }
  const width = 520, height = 220, left = 56, right = 12, top = 10, bottom = 38;
  const maxC = Math.max(...data.map((d) => d.c));
  const yv = (c) => (log ? Math.log10(1 + c) : c);
  const sx = (v) => left + ((v - lo) / (hi - lo || 1)) * (width - left - right);
  const sy = (c) => height - bottom - (yv(c) / (yv(maxC) || 1)) * (height - top - bottom);
  const svg = frame(width, height, `${label}: ${data.length} bars`);
  svg.classList.add("histogram");
  const yT = log ? [1, 10, 100, 1000, 10000, 100000, 1e6, 1e7, 1e8].filter((t) => t <= maxC) : ticks(0, maxC, 4);
  axes(svg, { left, right, top, bottom, width, height, xLabel, yLabel: log ? yLabel + " (log)" : yLabel, xTicks: ticks(lo, hi, 5), yTicks: yT, sx, sy });
  for (const d of data) {
    const x = sx(d.x), w = Math.max(0.8, sx(d.x + d.w) - x - 0.3), y = sy(d.c);
    svg.append(titled(svgEl("rect", { x: x.toFixed(2), y: y.toFixed(2), width: w.toFixed(2), height: (height - bottom - y).toFixed(2), class: "bar c0" }),
      `${fmt(d.x)} … ${fmt(d.x + d.w)}: ${fmt(d.c)}`));
  }
  marks.forEach((m, k) => {
    if (!Number.isFinite(m.x) || m.x < lo || m.x > hi) return;
    const x = sx(m.x);
    const atEnd = x > width - right - 60;
    svg.append(titled(svgEl("line", { x1: x, y1: top, x2: x, y2: height - bottom, class: "ref-line" }), `${m.label}: ${fmt(m.x)}`));
    svg.append(svgEl("text", { x: atEnd ? x - 3 : x + 3, y: top + 10 + k * 11, class: "ref-label", "text-anchor": atEnd ? "end" : "start" }, `${m.label} ${fmt(m.x)}`));
  });
  box.append(svg);
  return box;
}

/// A scatter of points [{x, y, label}] (one circle each; equal points overlap and say so in the title).
export function scatter(points, { label, xLabel, yLabel } = {}) {
  const box = document.createElement("figure");
  box.className = "scatter-box";
  const cap = document.createElement("figcaption");
  cap.textContent = label;
  box.append(cap);
  const pts = points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  if (!pts.length) { box.append(empty(label)); return box; }
  const width = 520, height = 260, left = 56, right = 14, top = 12, bottom = 40;
  let x0 = Math.min(...pts.map((p) => p.x)), x1 = Math.max(...pts.map((p) => p.x));
  let y0 = Math.min(...pts.map((p) => p.y)), y1 = Math.max(...pts.map((p) => p.y));
  const pad = (a, b) => (a === b ? [a * 0.9 - (a === 0 ? 1 : 0), b * 1.1 + (b === 0 ? 1 : 0)] : [a - (b - a) * 0.08, b + (b - a) * 0.08]);
  [x0, x1] = pad(x0, x1);
  [y0, y1] = pad(y0, y1);
  const sx = (v) => left + ((v - x0) / (x1 - x0)) * (width - left - right);
  const sy = (v) => height - bottom - ((v - y0) / (y1 - y0)) * (height - top - bottom);
  const svg = frame(width, height, `${label}: ${pts.length} points`);
  svg.classList.add("scatter");
  axes(svg, { left, right, top, bottom, width, height, xLabel, yLabel, xTicks: ticks(x0, x1, 5), yTicks: ticks(y0, y1, 4), sx, sy });
  const same = new Map();
  for (const p of pts) { const k = p.x + "," + p.y; same.set(k, (same.get(k) || 0) + 1); }
  for (const p of pts) {
    const n = same.get(p.x + "," + p.y);
    svg.append(titled(svgEl("circle", { cx: sx(p.x).toFixed(2), cy: sy(p.y).toFixed(2), r: 4.5, class: "point c0", "data-label": p.label }),
      `${p.label}: ${fmt(p.x)} × ${fmt(p.y)}${n > 1 ? ` (${n} cases here)` : ""}`));
  }
  box.append(svg);
  return box;
}

/// An n×n heatmap of scores in [0, 1]; `cell(i, j)` returns {score, gated, text}; clicking or
/// Enter on a cell calls onPick(i, j). Diagonal cells show "—".
export function heatmap(names, cell, { label, onPick } = {}) {
  const n = names.length;
  const box = document.createElement("figure");
  box.className = "heatmap-box";
  const cap = document.createElement("figcaption");
  cap.textContent = label;
  box.append(cap);
  const cs = n > 12 ? 30 : 46, labelW = 170, top = 8;
  const width = labelW + n * cs + 8, height = top + n * cs + 8;
  const svg = frame(width, height, `${label}: ${n} × ${n} cells`);
  svg.classList.add("heatmap");
  svg.setAttribute("role", "group");
  svg.setAttribute("width", String(width));
  svg.setAttribute("height", String(height));
  const short = (s) => (s.length > 24 ? s.slice(0, 23) + "…" : s);
  names.forEach((name, i) => {
    svg.append(titled(svgEl("text", { x: labelW - 6, y: top + i * cs + cs / 2 + 4, class: "axis-label", "text-anchor": "end" }, `${i + 1}. ${short(name)}`), name));
  });
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const c = cell(i, j);
      const x = labelW + j * cs, y = top + i * cs;
      const g = svgEl("g", { class: "cell-group" });
      const level = c.score === null || c.score === undefined ? "na" : Math.min(9, Math.floor(c.score * 10));
      const rect = titled(svgEl("rect", {
        x: x + 1, y: y + 1, width: cs - 2, height: cs - 2, rx: 3,
        class: `cell h${level}${i === j ? " diag" : ""}${c.gated ? " gated" : ""}`,
        "data-i": i, "data-j": j, "data-score": c.score ?? "",
      }), c.text);
      if (onPick && i !== j) {
        rect.setAttribute("tabindex", "0");
        rect.setAttribute("role", "button");
        rect.setAttribute("aria-label", c.text);
        rect.addEventListener("click", () => onPick(i, j));
        rect.addEventListener("keydown", (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); onPick(i, j); } });
      }
      g.append(rect);
      g.append(svgEl("text", { x: x + cs / 2, y: y + cs / 2 + 4, class: `cell-text${level !== "na" && level >= 6 ? " light" : ""}`, "text-anchor": "middle" },
        i === j ? "—" : c.score === null || c.score === undefined ? "?" : c.score.toFixed(2)));
      svg.append(g);
    }
  }
  const scroll = document.createElement("div");
  scroll.className = "scroll-x";
  scroll.append(svg);
  box.append(scroll);
  return box;
}

/// A horizontal progress bar (HTML, for the jobs page).
export function progressBar(fraction, text) {
  const outer = document.createElement("div");
  outer.className = "progress";
  outer.setAttribute("role", "progressbar");
  outer.setAttribute("aria-valuemin", "0");
  outer.setAttribute("aria-valuemax", "100");
  const inner = document.createElement("div");
  inner.className = "progress-fill";
  outer.append(inner);
  setProgress(outer, fraction, text);
  return outer;
}

export function setProgress(outer, fraction, text) {
  const inner = outer.firstChild;
  if (fraction === null) {
    outer.classList.add("indeterminate");
    outer.removeAttribute("aria-valuenow");
    inner.style.width = "30%";
  } else {
    outer.classList.remove("indeterminate");
    const pct = Math.max(0, Math.min(100, fraction * 100));
    outer.setAttribute("aria-valuenow", pct.toFixed(0));
    inner.style.width = pct.toFixed(1) + "%";
  }
  outer.setAttribute("aria-valuetext", text || "");
}
