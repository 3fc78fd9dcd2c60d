// Local datasets: the list (filter, sort, select for compatibility and plans) and one dataset's
// fingerprint as plots: spacing scatter, shapes, pooled and foreground intensity histograms,
// label volumes, orientation counts; outliers, findings and failed cases linking to their files;
// per-case middle-slice thumbnails on request.
import { api, offers, query, blobURL, download } from "./api.js";
import { h, fill, field, emptyState, errorBox, loading, chip, bytes, debounce, setHashParams, unavailable } from "./dom.js";
import { scatter, histogram, bars, fmt } from "./charts.js";

const SELECTION_KEY = "imagingx.selection";

export function selection() {
  try { return JSON.parse(sessionStorage.getItem(SELECTION_KEY) || "[]").map(Number).filter(Number.isFinite); } catch { return []; }
}
export function setSelection(ids) {
  try { sessionStorage.setItem(SELECTION_KEY, JSON.stringify([...new Set(ids)])); } catch { /* ignore */ }
}

export async function render(main, route, ctx) {
  if (route.args[0]) return renderDataset(main, route.args[0], ctx);
  return renderList(main, route, ctx);
}

async function renderList(main, route, ctx) {
  const p = route.params;
  const state = { q: p.get("q") || "", modality: p.get("modality") || "", layout: p.get("layout") || "", sort: p.get("sort") || "name" };
  main.append(h("h1", "Local datasets"), loading());
  let all;
  try { all = (await api("/api/v1/datasets")).items; } catch (err) { fill(main, h("h1", "Local datasets"), errorBox(err, "The datasets could not be listed")); return; }
  if (!ctx.isCurrent()) return;
  const modalities = [...new Set(all.map((d) => d.modality).filter(Boolean))].sort();
  const layouts = [...new Set(all.map((d) => d.layout).filter(Boolean))].sort();
  const q = h("input", { type: "search", value: state.q, placeholder: "name or folder" });
  const mod = h("select", {}, h("option", { value: "" }, "any"), modalities.map((m) => h("option", { value: m }, m)));
  const lay = h("select", {}, h("option", { value: "" }, "any"), layouts.map((m) => h("option", { value: m }, m)));
  const sort = h("select", {}, [["name", "name"], ["files", "most files"], ["cases", "most cases"], ["bytes", "largest"]].map(([v, t]) => h("option", { value: v }, t)));
  mod.value = state.modality; lay.value = state.layout; sort.value = state.sort;
  const count = h("p.summary", { "aria-live": "polite" });
  const tableBox = h("div");
  const selBar = h("div.selection-bar");
  fill(main, 
    h("div.page-head", h("h1", "Local datasets"),
      h("p.muted", "Datasets found in the indexed folders by the same layout rules as “imagingx fingerprint”. Select two or more to compare them or to plan their fusion.")),
    h("form.row.panel", { onsubmit: (e) => e.preventDefault(), "aria-label": "Filter datasets" },
      field("Search", q), field("Modality", mod), field("Layout", lay), field("Sort by", sort)),
    selBar, count, tableBox);

  const selected = new Set(selection());
  function renderSelBar() {
    const ids = [...selected];
    const n = ids.length;
    fill(selBar, 
      h("span", n ? `${n} selected` : "None selected"),
      h("a.button", { href: `#/compat?ids=${ids.join(",")}`, "aria-disabled": n < 2 ? "true" : undefined, class: n < 2 ? "disabled" : undefined, id: "compare-selected" }, "Compare selected"),
      h("a.button", { href: `#/plan?ids=${ids.join(",")}`, "aria-disabled": n < 1 ? "true" : undefined, class: n < 1 ? "disabled" : undefined, id: "plan-selected" }, "Plan fusion"),
      n ? h("button.link", { type: "button", onclick: () => { selected.clear(); setSelection([]); update(); } }, "Clear selection") : null);
  }

  async function update() {
    Object.assign(state, { q: q.value.trim(), modality: mod.value, layout: lay.value, sort: sort.value });
    setHashParams("datasets", { ...state, sort: state.sort === "name" ? "" : state.sort });
    let items;
    try { items = (await api("/api/v1/datasets" + query(state))).items; } catch (err) { fill(tableBox, errorBox(err, "The datasets could not be listed")); return; }
    if (!ctx.isCurrent()) return;
    renderSelBar();
    count.textContent = `${items.length} of ${all.length} datasets`;
    if (!all.length) {
      fill(tableBox, emptyState("No datasets in the index yet.", "Index a folder on the Index jobs page (or run “imagingx index FOLDER”).", h("a", { href: "#/jobs" }, "Go to index jobs")));
      return;
    }
    if (!items.length) { fill(tableBox, emptyState("No dataset matches these filters.")); return; }
    const rows = items.map((d) => {
      const box = h("input", { type: "checkbox", checked: selected.has(d.id), "aria-label": `Select ${d.name}`, "data-id": d.id });
      box.addEventListener("change", () => { if (box.checked) selected.add(d.id); else selected.delete(d.id); setSelection([...selected]); renderSelBar(); box.closest("tr").classList.toggle("selected", box.checked); });
      return h("tr", { class: selected.has(d.id) ? "selected" : undefined },
        h("td", box),
        h("td", h("a", { href: `#/datasets/${d.id}` }, d.name), d.name !== d.folder ? h("div.muted.path", d.folder) : null),
        h("td", d.modality || h("span.muted", "–")),
        h("td.hide-narrow", d.layout),
        h("td.n", fmt(d.cases)), h("td.n", d.cases_failed ? h("span.chip.bad", fmt(d.cases_failed)) : "0"),
        h("td.n.hide-narrow", fmt(d.files)), h("td.n.hide-narrow", bytes(d.bytes)));
    });
    fill(tableBox, h("div.table-wrap", h("table", { id: "datasets-table" },
      h("thead", h("tr", h("th", h("span.sr-only", "Select")), h("th", "Dataset"), h("th", "Modality"), h("th.hide-narrow", "Layout"),
        h("th.n", "Cases"), h("th.n", "Failed"), h("th.n.hide-narrow", "Files"), h("th.n.hide-narrow", "Size"))),
      h("tbody", rows))));
  }
  const later = debounce(update, 250);
  q.addEventListener("input", later);
  for (const s of [mod, lay, sort]) s.addEventListener("change", update);
  await update();
}

function kpi(k, v) { return h("li", h("span.k", k), h("span.v", v)); }

/// Per-case [spacing, dims] in x, y(, z) order: from /cases when served, else the nnU-Net
/// fingerprint (numpy order z, y, x, reversed here; its shapes are after cropping to non-zero).
function perCase(cases, nn) {
  if (cases) {
    return { source: "cases", rows: cases.filter((c) => !c.error && c.spacing && c.dims).map((c) => ({ id: c.id, spacing: c.spacing, dims: c.dims })) };
  }
  const sp = (nn && nn.spacings) || [];
  const sh = (nn && nn.shapes_after_crop) || [];
  return { source: "nnunet", rows: sp.map((s, i) => ({ id: `case ${i + 1}`, spacing: [...s].reverse(), dims: sh[i] ? [...sh[i]].reverse() : [] })) };
}

async function renderDataset(main, idText, ctx) {
  const id = Number(idText);
  main.append(h("p", h("a", { href: "#/datasets" }, "← All datasets")), loading("Loading the fingerprint…"));
  let d, fp, nn;
  try {
    [d, fp, nn] = await Promise.all([
      api(`/api/v1/datasets/${id}`),
      api(`/api/v1/datasets/${id}/fingerprint`).catch((e) => ({ __error: e })),
      api(`/api/v1/datasets/${id}/nnunet-fingerprint`).catch(() => null),
    ]);
  } catch (err) {
    fill(main, h("p", h("a", { href: "#/datasets" }, "← All datasets")), errorBox(err, `Dataset ${idText}`));
    return;
  }
  if (!ctx.isCurrent()) return;
  const hasCases = await offers("get", "/api/v1/datasets/{id}/cases");
  const hasThumb = await offers("get", "/api/v1/files/{id}/thumbnail");
  let cases = null;
  let casesError = null;
  if (hasCases) {
    try { cases = (await api(`/api/v1/datasets/${id}/cases`)).items; } catch (err) { if (!err.missing) casesError = err; }
  }
  if (!ctx.isCurrent()) return;
  const selected = new Set(selection());
  const sel = h("input", { type: "checkbox", id: "select-this", checked: selected.has(id) });
  sel.addEventListener("change", () => { const s = new Set(selection()); if (sel.checked) s.add(id); else s.delete(id); setSelection([...s]); });

  const out = [
    h("p", h("a", { href: "#/datasets" }, "← All datasets")),
    h("div.page-head", h("h1", d.name),
      h("p.muted", h("span.path", `${d.root}/${d.folder}`), ` · layout ${d.layout}`, d.fingerprinted_at ? ` · fingerprinted ${d.fingerprinted_at.replace("T", " ").replace("Z", " UTC")}` : "")),
    h("div.row",
      h("label.check", sel, " Selected for comparison and plans"),
      h("a", { href: `#/files?dataset=${id}` }, `Files of this dataset (${fmt(d.files)})`),
      h("button.secondary", { type: "button", onclick: () => download(`/api/v1/datasets/${id}/fingerprint`, `${d.folder}-fingerprint.json`) }, "Download fingerprint JSON"),
      h("button.secondary", { type: "button", onclick: () => download(`/api/v1/datasets/${id}/nnunet-fingerprint`, "dataset_fingerprint.json") }, "nnU-Net dataset_fingerprint.json")),
  ];
  if (fp && fp.__error) {
    out.push(errorBox(fp.__error, "The fingerprint could not be read"));
    fill(main, ...out);
    return;
  }
  const failed = fp.cases_failed || [];
  out.push(h("ul.kpis",
    kpi("Cases", fmt(fp.cases)), kpi("Failed cases", fmt(failed.length)), kpi("With labels", fmt(fp.cases_with_labels ?? 0)),
    kpi("Files", fmt(d.files)), kpi("Size", bytes(d.bytes)), kpi("Modality", d.modality || "unknown"),
    kpi("Formats", Object.keys(fp.by_format || {}).join(", ") || "–"), kpi("Data types", Object.keys(fp.by_dtype || {}).join(", ") || "–")));

  const pc = perCase(cases, nn);
  const plots = h("div.plots", { id: "dataset-plots" });
  const is3D = pc.rows.some((r) => r.spacing.length >= 3);
  const points = pc.rows.map((r) => (is3D
    ? { x: r.spacing[0], y: r.spacing[2] ?? NaN, label: r.id }
    : { x: r.spacing[0], y: r.spacing[1] ?? NaN, label: r.id }));
  const sc = scatter(points, { label: "Spacing per case", xLabel: is3D ? "in-plane spacing x (mm)" : "spacing x (mm)", yLabel: is3D ? "slice spacing z (mm)" : "spacing y (mm)" });
  sc.id = "plot-spacing";
  sc.dataset.cases = String(pc.rows.length);
  plots.append(h("div.plot", sc, h("p.note", pc.source === "nnunet" ? "One point per readable case (from the nnU-Net fingerprint's spacings). Hover a point for its values." : "One point per readable case. Hover a point for its values.")));

  const shapes = new Map();
  for (const r of pc.rows) { const k = r.dims.join(" × "); if (k) shapes.set(k, (shapes.get(k) || 0) + 1); }
  const shapeBars = bars([...shapes].map(([label, value]) => ({ label, value })).sort((a, b) => b.value - a.value), { label: pc.source === "nnunet" ? "Shapes after cropping to non-zero (cases)" : "Shapes (cases)", limit: 12 });
  shapeBars.id = "plot-shapes";
  const dist = (fp.shape || []).map((s, i) => `${"xyz"[i] || i}: ${fmt(s.min)}–${fmt(s.max)} (median ${fmt(s.median)})`).join(" · ");
  plots.append(h("div.plot", shapeBars, dist ? h("p.note", `Voxels per axis over all cases: ${dist}`) : null));

  const channels = Object.keys(fp.intensity_per_channel || {});
  const histBox = h("div.plot", { id: "plot-intensity" });
  const fgBox = h("div.plot", { id: "plot-foreground" });
  const logBox = h("input", { type: "checkbox", id: "log-counts" });
  let channel = channels[0];
  function drawHists() {
    const pooled = (fp.intensity_per_channel || {})[channel];
    const fg = (fp.foreground_intensity_per_channel || {})[channel];
    const opts = (s, label) => ({
      label, binWidth: Math.pow(2, s.bin_exponent || 0), xLabel: "intensity", yLabel: "voxels", log: logBox.checked,
      marks: [{ x: s.percentile_00_5, label: "p0.5" }, { x: s.mean, label: "mean" }, { x: s.percentile_99_5, label: "p99.5" }],
    });
    const tabs = channels.length > 1 ? h("div.tabs", { role: "group", "aria-label": "Channel" }, channels.map((c) =>
      h("button.secondary", { type: "button", "aria-pressed": String(c === channel), onclick: () => { channel = c; drawHists(); } }, `channel ${c}`))) : null;
    const stats = (s) => h("p.note", `${fmt(s.count)} voxels · mean ${fmt(s.mean)} · std ${fmt(s.std)} · median ${fmt(s.median)} · p0.5 ${fmt(s.percentile_00_5)} · p99.5 ${fmt(s.percentile_99_5)} · min ${fmt(s.min)} · max ${fmt(s.max)}${s.exact_percentiles ? " (exact)" : ""}`);
    fill(histBox, tabs || "", pooled ? histogram(pooled.histogram, opts(pooled, `Intensity, pooled over cases${channels.length > 1 ? ` (channel ${channel})` : ""}`)) : emptyState("No pooled intensities.", "The index has no pixel statistics for this dataset: index it with statistics (“imagingx index --stats”, or “imagingx serve --stats”)."),
      pooled ? stats(pooled) : "", h("label.check", logBox, " log counts"));
    fill(fgBox, fg ? histogram(fg.histogram, opts(fg, "Foreground intensity (voxels where the label > 0)")) : emptyState("No foreground intensities.", fp.cases_with_labels ? "No statistics were read for the labelled cases." : "This dataset has no label maps."),
      fg ? stats(fg) : "");
  }
  logBox.addEventListener("change", drawHists);
  drawHists();
  plots.append(histBox, fgBox);

  const labels = (fp.labels || []).map((l) => ({ label: `${l.value}${l.name ? " " + l.name : ""}`, value: l.median_volume_mm3 ?? 0, note: `${fmt(l.voxels)} voxels in ${l.cases} ${l.cases === 1 ? "case" : "cases"}` }));
  const labBars = bars(labels, { label: "Label volumes (median mm³ per case)", unit: " mm³" });
  labBars.id = "plot-labels";
  plots.append(h("div.plot", labels.length ? labBars : h("div", h("figcaption", "Label volumes"), emptyState("No label maps in this dataset."))));
  const orient = Object.entries(fp.orientation || {}).map(([label, value]) => ({ label, value })).sort((a, b) => b.value - a.value);
  const orBars = bars(orient, { label: "Orientation (axis codes, cases)" });
  orBars.id = "plot-orientation";
  plots.append(h("div.plot", orBars, orient.length > 1 ? h("p.note", "Mixed orientations: a plan reorients them (lossless) to one frame.") : null));
  out.push(h("h2", "Fingerprint"), plots);

  // Outliers, findings, failed cases.
  // A case's first file when the cases are listed (its path is exact), else the case id (part of its file names).
  const caseFile = new Map((cases || []).map((c) => [c.id, (c.images || [])[0]]).filter(([, p]) => p));
  const fileLink = (text, path) => h("a", { href: `#/files?dataset=${id}&path=${encodeURIComponent(caseFile.get(path) || path)}` }, text);
  const issues = h("section", { id: "dataset-issues" }, h("h2", "Outliers and findings"));
  const outliers = fp.outliers || [];
  const findings = Object.entries(fp.findings || {});
  const dsf = fp.dataset_findings || [];
  if (!outliers.length && !findings.length && !dsf.length && !failed.length) issues.append(emptyState("Nothing stands out.", "No outlier, no finding and no failed case in this dataset."));
  if (dsf.length) issues.append(h("h3", "About the dataset"), h("ul.finding-list", dsf.map((f) => h("li", chip(f, "warn")))));
  if (outliers.length) issues.append(h("h3", `Outliers (${outliers.length})`), h("ul.finding-list", outliers.map((o) => h("li", fileLink(o.case_id, o.case_id), ": ", o.reason))));
  if (findings.length) issues.append(h("h3", `Cases with findings (${findings.length})`), h("ul.finding-list", findings.map(([c, codes]) => h("li", fileLink(c, c), ": ", codes.map((x) => chip(x, "warn")), " "))));
  if (failed.length) issues.append(h("h3", `Failed cases (${failed.length})`), h("ul.finding-list", failed.map((f) => h("li", fileLink(f.case_id, f.path), ": ", h("span.muted", f.reason)))));
  out.push(issues);

  // DICOM series volumes and their geometry checks (when the server lists them).
  if (await offers("get", "/api/v1/series")) {
    let series = [];
    try { series = (await api(`/api/v1/series?dataset=${id}`)).items; } catch (err) { out.push(errorBox(err, "The DICOM series could not be listed")); }
    if (!ctx.isCurrent()) return;
    if (series.length) {
      const flags = ["regular_volume", "single_orientation", "orthogonal_orientation", "unique_positions", "uniform_spacing", "consistent_pixel_spacing", "consistent_dimensions"];
      out.push(h("section", { id: "dataset-series" }, h("h2", `DICOM series (${series.length})`),
        h("div.table-wrap", h("table", { id: "series-table" },
          h("thead", h("tr", h("th", "First file"), h("th.n", "Files"), h("th", "Dims"), h("th.hide-narrow", "Spacing (mm)"), h("th", "Axes"), h("th", "Geometry"))),
          h("tbody", series.map(({ series: v }) => h("tr",
            h("td", fileLink(v.first_file || v.series_key, v.first_file || "")),
            h("td.n", fmt(v.files)), h("td", (v.dims || []).join(" × ") || "–"),
            h("td.hide-narrow", (v.spacing || []).map((x) => fmt(x)).join(" × ") || "–"), h("td", v.axcodes || "–"),
            h("td", v.regular_volume ? chip("regular 3D volume", "ok") : flags.filter((f) => v[f] === false).map((f) => chip(f.replace(/_/g, " ") + ": no", "warn")),
              v.missing_slices ? chip(`${v.missing_slices} missing slices`, "bad") : null,
              v.gantry_tilt_degrees ? chip(`gantry tilt ${fmt(v.gantry_tilt_degrees)}°`, "warn") : null))))))));
    }
  }

  // Cases with thumbnails.
  const casesBox = h("section", { id: "dataset-cases" }, h("h2", "Cases"));
  if (!hasCases) {
    casesBox.append(unavailable("The per-case table and middle-slice thumbnails", "GET /api/v1/datasets/{id}/cases"));
  } else if (casesError) {
    casesBox.append(errorBox(casesError, "The cases could not be listed"));
  } else if (!cases.length) {
    casesBox.append(emptyState("No cases."));
  } else {
    const thumbs = h("div.thumbs", { id: "thumbs" });
    const showThumb = async (c, btn) => {
      if (btn) btn.disabled = true;
      const fig = h("figure.thumb", h("figcaption", c.id), loading("rendering…"));
      thumbs.append(fig);
      try {
        const url = await blobURL(`/api/v1/files/${c.file_id}/thumbnail`);
        const img = h("img", { alt: `Middle slice of ${c.id}`, src: url });
        img.addEventListener("load", () => setTimeout(() => URL.revokeObjectURL(url), 1000));
        fill(fig, h("figcaption", c.id), img);
      } catch (err) {
        fill(fig, h("figcaption", c.id), h("p.muted", err.message));
      }
    };
    const withFile = cases.filter((c) => c.file_id !== undefined && c.file_id !== null && !c.error);
    const rows = cases.map((c) => {
      const btn = hasThumb && c.file_id !== undefined && c.file_id !== null && !c.error
        ? h("button.secondary", { type: "button", "aria-label": `Show the middle slice of ${c.id}` }, "Show slice") : null;
      if (btn) btn.addEventListener("click", () => showThumb(c, btn));
      const lv = Object.entries(c.label_voxels || {}).map(([k, v]) => `${k}: ${fmt(v)}`).join(", ");
      return h("tr",
        h("td", c.file_id !== undefined && c.file_id !== null ? fileLink(c.id, (c.images || [c.id])[0]) : c.id),
        h("td", (c.dims || []).join(" × ") || "–"),
        h("td", (c.spacing || []).map((s) => fmt(s)).join(" × ") || "–"),
        h("td.hide-narrow", c.axcodes || "–"), h("td.hide-narrow", c.dtype || "–"),
        h("td.hide-narrow", lv || (c.label ? "–" : h("span.muted", "no label"))),
        h("td", c.error ? h("span.chip.bad", c.error) : (c.findings || []).map((f) => chip(f, "warn"))),
        h("td", btn || ""));
    });
    casesBox.append(
      h("div.row", hasThumb ? h("button", { type: "button", id: "show-thumbs", onclick: (ev) => { ev.target.disabled = true; withFile.slice(0, 24).forEach((c) => showThumb(c)); } }, `Show middle slices (${Math.min(24, withFile.length)} ${Math.min(24, withFile.length) === 1 ? "case" : "cases"})`) : unavailable("Thumbnails", "GET /api/v1/files/{id}/thumbnail")),
      thumbs,
      h("div.table-wrap", h("table", { id: "cases-table" },
        h("thead", h("tr", h("th", "Case"), h("th", "Dims"), h("th", "Spacing (mm)"), h("th.hide-narrow", "Axes"), h("th.hide-narrow", "Type"), h("th.hide-narrow", "Label voxels"), h("th", "Findings"), h("th", h("span.sr-only", "Thumbnail")))),
        h("tbody", rows))));
  }
  out.push(casesBox);
  fill(main, ...out);
}
