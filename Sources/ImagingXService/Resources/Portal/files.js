// Indexed files: filters (dataset, format, modality, status, dtype, finding, path, dims), facet
// counts from the server, cursor pagination, one file's record, and CSV/JSONL download.
import { api, query, download, offers, blobURL } from "./api.js";
import { h, fill, field, emptyState, errorBox, loading, chip, bytes, debounce, setHashParams } from "./dom.js";
import { fmt } from "./charts.js";

const FILTERS = ["dataset", "format", "modality", "status", "dtype", "finding", "path", "ndim"];
const LIMIT = 100;

export async function render(main, route, ctx) {
  const state = {};
  for (const k of FILTERS) { const v = route.params.get(k); if (v) state[k] = v; }
  main.append(h("h1", "Files"), loading());
  let datasets = [];
  try { datasets = (await api("/api/v1/datasets")).items; } catch { /* the dataset filter stays empty */ }
  if (!ctx.isCurrent()) return;
  const hasThumb = await offers("get", "/api/v1/files/{id}/thumbnail");

  const controls = {};
  const ds = h("select", {}, h("option", { value: "" }, "any dataset"), datasets.map((d) => h("option", { value: String(d.id) }, d.name)));
  controls.dataset = ds;
  for (const k of ["format", "modality", "status", "dtype", "finding"]) controls[k] = h("select", { "data-filter": k });
  controls.path = h("input", { type: "search", placeholder: "part of the path" });
  controls.ndim = h("select", {}, h("option", { value: "" }, "any"), ["2", "3", "4"].map((n) => h("option", { value: n }, n + "D")));
  for (const k of FILTERS) if (state[k]) { if (controls[k].tagName === "SELECT" && ![...controls[k].options].some((o) => o.value === state[k])) controls[k].append(h("option", { value: state[k] }, state[k])); controls[k].value = state[k]; }

  const summary = h("p.summary", { "aria-live": "polite", id: "files-summary" });
  const tableBox = h("div");
  const detail = h("section", { id: "file-detail" });
  const moreBtn = h("button.secondary.more", { type: "button", hidden: true }, "Load more");
  const dlCSV = h("button.secondary", { type: "button" }, "Download CSV");
  const dlJSONL = h("button.secondary", { type: "button" }, "Download JSONL");
  fill(main, 
    h("div.page-head", h("h1", "Files"), h("p.muted", "Every indexed file with its scan record. Filters combine; counts beside each value are for the current filters.")),
    h("form.row.panel", { onsubmit: (e) => e.preventDefault(), "aria-label": "Filter files" },
      field("Dataset", ds), field("Format", controls.format), field("Modality", controls.modality), field("Status", controls.status),
      field("Data type", controls.dtype), field("Finding", controls.finding), field("Dimensions", controls.ndim), field("Path contains", controls.path),
      h("button.link", { type: "button", onclick: () => { for (const k of FILTERS) controls[k].value = ""; update(); } }, "Clear filters")),
    h("div.result-bar", summary, h("div.buttons", dlCSV, dlJSONL)),
    detail, tableBox, moreBtn);

  let cursor = null;
  let tbody = null;
  let seq = 0;

  const params = () => { const p = {}; for (const k of FILTERS) if (state[k]) p[k] = state[k]; return p; };
  // The download's own kind is `output` (csv|jsonl); `format` stays the file-format filter.
  const downloadAs = (as) => {
    download("/api/v1/files/download" + query({ ...params(), output: as }), `imagingx-files.${as}`).catch((e) => summary.append(errorBox(e, "Download")));
  };
  dlCSV.addEventListener("click", () => downloadAs("csv"));
  dlJSONL.addEventListener("click", () => downloadAs("jsonl"));

  function fillFacets(facets) {
    for (const k of ["format", "modality", "status", "dtype", "finding"]) {
      const sel = controls[k];
      const counts = facets[k] || {};
      const cur = state[k] || "";
      fill(sel, h("option", { value: "" }, "any"),
        ...Object.entries(counts).sort((a, b) => b[1] - a[1]).map(([v, n]) => h("option", { value: v }, `${v} (${fmt(n)})`)));
      if (cur && !(cur in counts)) sel.append(h("option", { value: cur }, `${cur} (0)`));
      sel.value = cur;
    }
  }

  function row(f) {
    const r = f.record;
    const status = r.status === "ok" ? chip("ok", "ok") : r.status === "error" ? chip("error", "bad") : chip(r.status, "warn");
    const open = h("button.link", { type: "button", "aria-label": `Show the record of ${r.path}` }, r.path);
    open.addEventListener("click", () => showDetail(f.id));
    return h("tr", { "data-id": f.id },
      h("td.path", open),
      h("td", r.format), h("td", status), h("td.hide-narrow", r.modality || h("span.muted", "–")),
      h("td", (r.dims || []).join(" × ") || "–"),
      h("td.hide-narrow", (r.spacing || []).map((s) => fmt(s)).join(" × ") || "–"),
      h("td.hide-narrow", r.dtype || "–"), h("td.n.hide-narrow", bytes(r.size_bytes)),
      h("td", r.error ? h("span.muted", r.error) : (r.findings || []).map((x) => chip(x.code, x.level === "warning" ? "warn" : ""))));
  }

  async function showDetail(fid) {
    fill(detail, loading("Loading the record…"));
    try {
      const f = await api(`/api/v1/files/${fid}`);
      const close = h("button.secondary", { type: "button", onclick: () => fill(detail) }, "Close");
      const thumbBox = h("div");
      const thumbBtn = hasThumb && f.record.status === "ok" ? h("button.secondary", { type: "button" }, "Show middle slice") : null;
      if (thumbBtn) thumbBtn.addEventListener("click", async () => {
        thumbBtn.disabled = true;
        try { const url = await blobURL(`/api/v1/files/${fid}/thumbnail`); fill(thumbBox, h("figure.thumb", h("img", { src: url, alt: `Middle slice of ${f.record.path}` }))); }
        catch (err) { fill(thumbBox, errorBox(err, "Thumbnail")); }
      });
      fill(detail, h("div.panel",
        h("div.row", h("h2", { tabindex: "-1", id: "file-detail-title" }, f.record.path), close, thumbBtn),
        h("p.muted", `${f.root} · file ${f.id}`, f.dataset_id !== null && f.dataset_id !== undefined ? [" · ", h("a", { href: `#/datasets/${f.dataset_id}` }, "its dataset")] : ""),
        thumbBox,
        h("pre.record", JSON.stringify(f.record, null, 2))));
      detail.querySelector("h2").focus();
    } catch (err) {
      fill(detail, errorBox(err, "The file could not be read"));
    }
  }

  async function page(first) {
    const mine = seq;
    const p = { ...params(), limit: LIMIT };
    if (first) p.count = "true";
    if (!first && cursor) p.cursor = cursor;
    const res = await api("/api/v1/files" + query(p));
    if (mine !== seq || !ctx.isCurrent()) return null;
    cursor = res.next_cursor;
    for (const f of res.items) tbody.append(row(f));
    moreBtn.hidden = !cursor;
    return res;
  }

  async function update() {
    for (const k of FILTERS) { const v = controls[k].value.trim(); if (v) state[k] = v; else delete state[k]; }
    setHashParams("files", state);
    const mine = ++seq;
    cursor = null;
    try {
      const [facets] = await Promise.all([api("/api/v1/files/facets" + query(params()))]);
      if (mine !== seq || !ctx.isCurrent()) return;
      fillFacets(facets);
      tbody = h("tbody");
      const table = h("div.table-wrap", h("table", { id: "files-table" },
        h("thead", h("tr", h("th", "Path"), h("th", "Format"), h("th", "Status"), h("th.hide-narrow", "Modality"), h("th", "Dims"),
          h("th.hide-narrow", "Spacing"), h("th.hide-narrow", "Type"), h("th.n.hide-narrow", "Size"), h("th", "Error or findings"))), tbody));
      const res = await page(true);
      if (!res) return;
      fill(summary, h("strong", { id: "files-total", "data-total": res.total }, fmt(res.total)), ` ${res.total === 1 ? "file" : "files"}`);
      fill(tableBox, res.total ? table : emptyState("No file matches these filters.", "Clear a filter, or index a folder on the Index jobs page."));
      // Arriving from a link that names one file: open its record.
      if (res.total === 1 && state.path && res.items.length === 1) await showDetail(res.items[0].id);
    } catch (err) {
      if (mine === seq) fill(tableBox, errorBox(err, "The files could not be listed"));
    }
  }
  moreBtn.addEventListener("click", async () => { moreBtn.disabled = true; try { await page(false); } catch (err) { tableBox.append(errorBox(err)); } moreBtn.disabled = false; });
  for (const k of FILTERS) {
    if (k === "path") controls[k].addEventListener("input", debounce(update, 300));
    else controls[k].addEventListener("change", update);
  }
  await update();
}
