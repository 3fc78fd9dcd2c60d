// Catalog explorer: search box, quick filters, facets with counts (modality, anatomy tree, task,
// dim, labelled, access, platform, year), strict and near matches (naming the missed constraint),
// distribution charts that follow the filters, CSV/JSON export of the result.
//
// The search itself runs on the server (GET /api/v1/catalog/search: synonyms, spelling, the
// anatomy hierarchy). Facet counts are computed here over the entries that pass every *other*
// constraint: the strict matches plus the near matches whose one miss is that facet (or the whole
// catalog when that facet is the only constraint), so a count is what selecting the value gives.
// Year is not a server constraint: it filters here, and a strict match of the wrong year becomes
// a near match that misses "year".
import { api, query, saveText } from "./api.js";
import { h, fill, field, emptyState, errorBox, loading, chip, debounce, toCSV, setHashParams } from "./dom.js";
import { donut, bars, fmt } from "./charts.js";

export const TASK_NAMES = {
  seg: "segmentation", cls: "classification", det: "detection", reg: "registration / regression",
  rec: "reconstruction", loc: "localisation", track: "tracking", pred: "prediction", est: "estimation",
  vqa: "visual QA", gen: "generation", qa: "quality assessment", report: "report generation",
  atlas: "atlas", retrieval: "retrieval",
};

// Platforms as the server's filter finds them: a needle in the URL or the download notes.
const PLATFORMS = [
  ["tcia", ["cancerimagingarchive"], "TCIA"], ["grand-challenge", ["grand-challenge"], "Grand Challenge"],
  ["kaggle", ["kaggle"], "Kaggle"], ["physionet", ["physionet"], "PhysioNet"], ["synapse", ["synapse"], "Synapse"],
  ["zenodo", ["zenodo"], "Zenodo"], ["github", ["github"], "GitHub"], ["figshare", ["figshare"], "figshare"],
  ["openneuro", ["openneuro"], "OpenNeuro"], ["huggingface", ["huggingface"], "Hugging Face"],
  ["tianchi", ["tianchi"], "Tianchi"], ["opendatalab", ["opendatalab"], "OpenDataLab"],
  ["heywhale", ["heywhale"], "Heywhale"], ["nitrc", ["nitrc"], "NITRC"], ["mendeley", ["mendeley"], "Mendeley Data"],
];

const FACETS = [
  { key: "modality", label: "Modality", miss: (m) => m.startsWith("modality ") },
  { key: "anatomy", label: "Anatomy", miss: (m) => m.startsWith("anatomy "), tree: true },
  { key: "task", label: "Task", miss: (m) => m.startsWith("task ") },
  { key: "dim", label: "Dimension", miss: (m) => m.startsWith("dim ") },
  { key: "labelled", label: "Labels", miss: (m) => m === "labelled" || m === "unlabelled" },
  { key: "access", label: "Access", miss: (m) => m.startsWith("access ") },
  { key: "platform", label: "Platform", miss: (m) => m.startsWith("platform ") },
  { key: "year", label: "Release year", local: true },
];
const SERVER_KEYS = ["q", "disease", "modality", "anatomy", "task", "dim", "labelled", "access", "platform"];

const QUICK = [
  ["CT", { modality: "CT" }], ["MR", { modality: "MR" }], ["X-ray", { modality: "X-ray" }],
  ["Segmentation", { task: "seg" }], ["Classification", { task: "cls" }], ["3D", { dim: "3D" }], ["2D", { dim: "2D" }],
  ["Open access", { access: "open" }], ["Labelled", { labelled: "true" }],
];

const PAGE = 50;
let catalogCache = null;
let treeCache = null;

export async function loadCatalog() {
  if (!catalogCache) catalogCache = api("/api/v1/catalog").catch((e) => { catalogCache = null; throw e; });
  return catalogCache;
}

/// term → parent (null at the top): the server's vocabulary (GET /api/v1/catalog/vocabulary), the
/// one the catalog was normalised with. Without it the anatomy facet is a flat list.
async function loadTree() {
  if (!treeCache) {
    treeCache = (async () => {
      try {
        const v = await api("/api/v1/catalog/vocabulary");
        if (v && v.anatomy) return v.anatomy;
      } catch { /* a flat list */ }
      return {};
    })();
  }
  return treeCache;
}

export const key = (e) => e.name + "\u0000" + (e.url || "");

function clean(s) { return s.toLowerCase().split(/[ \t\n\u200d]+/).join(" "); }

function ancestors(term, parent) {
  const out = [term];
  let t = term;
  while (parent[t] && !out.includes(parent[t])) { t = parent[t]; out.push(t); }
  return out;
}

/// Whether entry e matches facet value v (as the server's filter would).
function matcher(facet, parent) {
  switch (facet) {
    case "modality": case "task": case "dim": return (e, v) => (e[facet] || []).includes(v);
    case "anatomy": return (e, v) => (e.anatomy || []).some((a) => (a === "whole-body" ? v === a : v !== "whole-body" && ancestors(a, parent).includes(v)));
    case "labelled": return (e, v) => e.labelled === (v === "true");
    case "access": return (e, v) => e.access === v;
    case "platform": {
      const needles = Object.fromEntries(PLATFORMS.map(([k, n]) => [k, n]));
      return (e, v) => { const hay = clean((e.url || "") + " " + (e.download || "")); return (needles[v] || [v]).some((n) => hay.includes(n)); };
    }
    case "year": return (e, v) => String(e.year) === String(v);
    default: return () => false;
  }
}

function valueLabel(facet, v) {
  if (facet === "task") return TASK_NAMES[v] ? `${TASK_NAMES[v]}` : v;
  if (facet === "labelled") return v === "true" ? "labelled" : "unlabelled";
  if (facet === "platform") return (PLATFORMS.find(([k]) => k === v) || [v, [], v])[2];
  return v;
}

function stateFrom(params) {
  const s = {};
  for (const k of [...SERVER_KEYS, "year"]) { const v = params.get(k); if (v) s[k] = v; }
  return s;
}

export async function render(main, route, ctx) {
  const state = stateFrom(route.params);
  main.append(h("h1", "Dataset catalog"), loading("Loading the catalog…"));
  let cat, parent;
  try {
    [cat, parent] = await Promise.all([loadCatalog(), loadTree()]);
  } catch (err) {
    fill(main, h("h1", "Dataset catalog"), errorBox(err, "The catalog could not be read"));
    return;
  }
  if (!ctx.isCurrent()) return;
  const entries = cat.entries;
  const byKey = new Map(entries.map((e) => [key(e), e]));

  // Distinct values per facet, over the whole catalog.
  const values = {
    modality: [...new Set(entries.flatMap((e) => e.modality || []))],
    task: [...new Set(entries.flatMap((e) => e.task || []))],
    dim: [...new Set(entries.flatMap((e) => e.dim || []))],
    labelled: ["true", "false"],
    access: [...new Set(entries.map((e) => e.access).filter(Boolean))],
    platform: PLATFORMS.map(([k]) => k),
    year: [...new Set(entries.map((e) => e.year).filter((y) => y !== null && y !== undefined))].sort((a, b) => b - a).map(String),
  };
  const usedAnatomy = new Set(entries.flatMap((e) => e.anatomy || []));
  const anatomyNodes = new Set();
  for (const a of usedAnatomy) for (const x of ancestors(a, parent)) anatomyNodes.add(x);
  values.anatomy = [...anatomyNodes];
  const match = Object.fromEntries(FACETS.map((f) => [f.key, matcher(f.key, parent)]));

  // Layout.
  const search = h("input", { type: "search", id: "catalog-q", placeholder: "e.g. lung nodule, glioma, fundus…", value: state.q || "", autocomplete: "off" });
  const disease = h("input", { type: "search", id: "catalog-disease", placeholder: "e.g. glioma", value: state.disease || "", autocomplete: "off" });
  const quick = h("div.quick", { role: "group", "aria-label": "Quick filters" });
  const active = h("div.active-filters", { "aria-live": "polite" });
  const facetsBox = h("aside.facets", { "aria-label": "Facets", id: "catalog-facets" });
  const charts = h("section.charts", { "aria-label": "Distributions of the matches" });
  const summary = h("p.summary", { id: "catalog-summary", "aria-live": "polite" });
  const strictBox = h("section.results", { id: "strict-results", "aria-labelledby": "strict-title" });
  const nearBox = h("section.results.near", { id: "near-results", "aria-labelledby": "near-title" });
  const errorSlot = h("div");
  const exportCSV = h("button.secondary", { type: "button", id: "export-csv" }, "Export CSV");
  const exportJSON = h("button.secondary", { type: "button", id: "export-json" }, "Export JSON");

  fill(main, 
    h("div.page-head",
      h("h1", "Dataset catalog"),
      h("p.muted", `${entries.length.toLocaleString("en-US")} public datasets (catalog: ${String(cat.source).split("/").pop()}). The search understands synonyms and spellings ("lungs", "MRI", "head and neck"); "ct" never finds OCT.`)),
    h("form.searchbar", { role: "search", onsubmit: (ev) => { ev.preventDefault(); state.q = search.value.trim(); state.disease = disease.value.trim(); update(); } },
      field("Search the catalog", search),
      field("Disease", disease),
      h("button", { type: "submit" }, "Search")),
    quick, active,
    h("button.secondary.show-narrow", { type: "button", id: "toggle-facets", "aria-expanded": "false", "aria-controls": "catalog-facets",
      onclick: (ev) => { const open = facetsBox.classList.toggle("open"); ev.currentTarget.setAttribute("aria-expanded", String(open)); ev.currentTarget.textContent = open ? "Hide facets" : "Show facets"; } }, "Show facets"),
    h("div.catalog-layout", facetsBox,
      h("div.catalog-main", charts,
        h("div.result-bar", summary, h("div.buttons", exportCSV, exportJSON)),
        errorSlot, strictBox, nearBox)));

  const runSearch = debounce(() => { state.q = search.value.trim(); state.disease = disease.value.trim(); update(); }, 300);
  search.addEventListener("input", runSearch);
  disease.addEventListener("input", runSearch);

  for (const [label, set] of QUICK) {
    const [k, v] = Object.entries(set)[0];
    const b = h("button.quick-filter", { type: "button", "aria-pressed": String(state[k] === v), "data-key": k, "data-value": v },
      label);
    b.addEventListener("click", () => { state[k] = state[k] === v ? undefined : v; update(); });
    quick.append(b);
  }

  let seq = 0;
  let shown = { strict: PAGE, near: PAGE };
  let current = { strict: [], near: [] };
  const facetOpen = {};

  exportCSV.addEventListener("click", () => {
    const cols = ["name", "url", "year", "modality", "anatomy", "task", "dim", "samples", "samples_unit", "labelled", "access", "licence", "diseases", "sections"];
    saveText(toCSV(cols, current.strict), "imagingx-catalog.csv", "text/csv");
  });
  exportJSON.addEventListener("click", () => {
    saveText(JSON.stringify({ catalog: cat.source, query: { ...state }, strict: current.strict, near: current.near }, null, 2), "imagingx-catalog.json", "application/json");
  });

  async function update() {
    shown = { strict: PAGE, near: PAGE };
    const mine = ++seq;
    setHashParams("catalog", state);
    for (const b of quick.querySelectorAll("button")) b.setAttribute("aria-pressed", String(state[b.dataset.key] === b.dataset.value));
    if (search.value.trim() !== (state.q || "")) search.value = state.q || "";
    if (disease.value.trim() !== (state.disease || "")) disease.value = state.disease || "";
    const params = {};
    for (const k of SERVER_KEYS) if (state[k]) params[k] = state[k];
    main.setAttribute("aria-busy", "true");
    let result;
    try {
      result = await api("/api/v1/catalog/search" + query(params));
    } catch (err) {
      if (mine !== seq || !ctx.isCurrent()) return;
      fill(errorSlot, errorBox(err, "The search failed"));
      main.setAttribute("aria-busy", "false");
      return;
    }
    if (mine !== seq || !ctx.isCurrent()) return;
    fill(errorSlot);
    const serverStrict = result.strict;
    const serverNear = result.near.map((n) => ({ entry: n.entry, misses: n.misses }));
    const yearOK = (e) => !state.year || String(e.year) === state.year;
    const strict = serverStrict.filter(yearOK);
    const near = serverNear.filter((n) => yearOK(n.entry));
    if (state.year) for (const e of serverStrict) if (!yearOK(e)) near.push({ entry: e, misses: `year ${state.year}` });
    current = { strict, near: near.map((n) => ({ ...n.entry, misses: n.misses })) };

    const nServer = SERVER_KEYS.filter((k) => state[k]).length;
    const base = (f) => {
      if (f.local) return serverStrict;
      if (!state[f.key]) return strict;
      if (nServer === 1) return entries.filter(yearOK);
      const ids = new Set(serverStrict.map(key));
      const out = [...serverStrict];
      for (const n of serverNear) if (f.miss(n.misses) && !ids.has(key(n.entry))) out.push(n.entry);
      return out.filter(yearOK);
    };
    renderActive();
    renderFacets(base);
    renderCharts(strict);
    renderResults();
    main.setAttribute("aria-busy", "false");
  }

  function renderActive() {
    const items = [];
    if (state.q) items.push(["q", `text “${state.q}”`]);
    if (state.disease) items.push(["disease", `disease “${state.disease}”`]);
    for (const f of FACETS) if (state[f.key]) items.push([f.key, `${f.label.toLowerCase()}: ${valueLabel(f.key, state[f.key])}`]);
    fill(active);
    if (!items.length) return;
    active.append(h("span.muted", "Filters: "));
    for (const [k, text] of items) {
      active.append(h("button.filter-chip", { type: "button", "aria-label": `Remove filter ${text}`, onclick: () => { state[k] = undefined; if (k === "q") search.value = ""; if (k === "disease") disease.value = ""; update(); } }, text, h("span", { "aria-hidden": "true" }, " ×")));
    }
    active.append(h("button.link", { type: "button", onclick: () => { for (const k of Object.keys(state)) state[k] = undefined; search.value = ""; disease.value = ""; update(); } }, "Clear all"));
  }

  function valueButton(f, v, n, depth = 0) {
    const selected = state[f.key] === v;
    return h("button.facet-value", {
      type: "button", "aria-pressed": String(selected), "data-facet": f.key, "data-value": v, "data-count": n,
      class: depth ? `depth${Math.min(depth, 3)}` : undefined,
      onclick: () => { state[f.key] = selected ? undefined : v; update(); },
    }, h("span.facet-label", valueLabel(f.key, v)), h("span.count", fmt(n)));
  }

  function renderFacets(base) {
    fill(facetsBox, h("h2.sr-only", "Facets"));
    for (const f of FACETS) {
      const set = base(f);
      const fs = h("fieldset.facet", { "data-facet": f.key }, h("legend", f.label));
      if (f.tree) {
        const counts = new Map();
        for (const v of values.anatomy) counts.set(v, 0);
        for (const e of set) {
          const hit = new Set();
          for (const a of e.anatomy || []) {
            if (a === "whole-body") { hit.add(a); continue; }
            for (const x of ancestors(a, parent)) if (x !== "whole-body") hit.add(x);
          }
          for (const x of hit) counts.set(x, (counts.get(x) || 0) + 1);
        }
        const children = new Map();
        for (const v of values.anatomy) {
          const p = parent[v] && anatomyNodes.has(parent[v]) ? parent[v] : null;
          if (!children.has(p)) children.set(p, []);
          children.get(p).push(v);
        }
        const list = h("ul.tree");
        const open = facetOpen.anatomy;
        let rows = 0;
        const walk = (p, depth, ul) => {
          const kids = (children.get(p) || []).filter((v) => counts.get(v) > 0 || state.anatomy === v)
            .sort((a, b) => counts.get(b) - counts.get(a) || a.localeCompare(b));
          for (const v of kids) {
            if (!open && depth === 0 && rows >= 10 && state.anatomy !== v) continue;
            if (depth === 0) rows++;
            const li = h("li", valueButton(f, v, counts.get(v), depth));
            const sub = h("ul");
            walk(v, depth + 1, sub);
            if (sub.childNodes.length) li.append(sub);
            ul.append(li);
          }
        };
        walk(null, 0, list);
        const tops = (children.get(null) || []).filter((v) => counts.get(v) > 0).length;
        fs.append(list.childNodes.length ? list : h("p.muted", "none"));
        if (tops > 10) fs.append(h("button.link", { type: "button", "aria-expanded": String(!!open), onclick: () => { facetOpen.anatomy = !open; renderFacets(base); } }, open ? "Show fewer" : `Show all ${tops} regions`));
      } else {
        const counts = values[f.key].map((v) => [v, set.reduce((s, e) => s + (match[f.key](e, v) ? 1 : 0), 0)])
          .filter(([v, n]) => n > 0 || state[f.key] === v);
        if (f.key !== "year") counts.sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
        const limit = facetOpen[f.key] ? counts.length : 8;
        const ul = h("ul");
        counts.forEach(([v, n], i) => { if (i < limit || state[f.key] === v) ul.append(h("li", valueButton(f, v, n))); });
        fs.append(ul.childNodes.length ? ul : h("p.muted", "none"));
        if (counts.length > 8) fs.append(h("button.link", { type: "button", "aria-expanded": String(!!facetOpen[f.key]), onclick: () => { facetOpen[f.key] = !facetOpen[f.key]; renderFacets(base); } }, facetOpen[f.key] ? "Show fewer" : `Show all ${counts.length}`));
      }
      facetsBox.append(fs);
    }
  }

  function tally(list, field) {
    const m = new Map();
    for (const e of list) for (const v of e[field] || []) m.set(v, (m.get(v) || 0) + 1);
    return [...m].map(([label, value]) => ({ label, value })).sort((a, b) => b.value - a.value || a.label.localeCompare(b.label));
  }

  function renderCharts(list) {
    const center = (f) => ({ center: fmt(list.filter((e) => (e[f] || []).length).length), centerLabel: "datasets" });
    fill(charts, 
      h("div.chart-cell", { id: "chart-modality" }, donut(tally(list, "modality"), { label: "Modality", ...center("modality") })),
      h("div.chart-cell", { id: "chart-task" }, donut(tally(list, "task").map((d) => ({ ...d, label: TASK_NAMES[d.label] || d.label })), { label: "Task", ...center("task") })),
      h("div.chart-cell", { id: "chart-dim" }, donut(tally(list, "dim"), { label: "Dimension", ...center("dim") })),
      h("div.chart-cell.wide", { id: "chart-anatomy" }, bars(tally(list, "anatomy"), { label: "Anatomy", limit: 12, onPick: (d) => { state.anatomy = d.label; update(); } })));
  }

  function card(e, misses) {
    const samples = e.samples !== undefined && e.samples !== null ? `${fmt(e.samples)}${e.samples_lower_bound ? "+" : ""} ${e.samples_unit || ""}` : "samples unknown";
    return h("li.entry",
      h("div.entry-head",
        e.url ? h("a.entry-name", { href: e.url, rel: "noopener noreferrer", target: "_blank" }, e.name) : h("span.entry-name", e.name),
        e.year ? h("span.muted", ` ${e.year}`) : null,
        misses ? h("span.miss", `misses ${misses}`) : null),
      h("div.entry-tags",
        (e.modality || []).map((m) => chip(m, "modality")),
        (e.anatomy || []).map((a) => chip(a, "anatomy")),
        (e.task || []).map((t) => chip(TASK_NAMES[t] || t, "task")),
        (e.dim || []).map((d) => chip(d, "dim"))),
      h("div.entry-meta",
        h("span", samples),
        h("span", e.labelled === true ? "labelled" : e.labelled === false ? "unlabelled" : "labels unknown"),
        h("span", `access: ${e.access || "unknown"}`),
        e.licence ? h("span", `licence: ${e.licence}`) : null,
        e.diseases ? h("span.diseases", e.diseases) : null));
  }

  function renderList(box, titleId, title, list, which, isNear) {
    fill(box, h("h2", { id: titleId }, title));
    if (!list.length) {
      box.append(emptyState(isNear ? "No near matches." : "No dataset matches every filter.",
        isNear ? "Near matches miss exactly one constraint; with fewer than two constraints there are none." : "Remove a filter, or look at the near matches below."));
      return;
    }
    const ul = h("ul.entries");
    list.slice(0, shown[which]).forEach((e) => ul.append(card(e, isNear ? e.misses : null)));
    box.append(ul);
    if (list.length > shown[which]) {
      box.append(h("button.secondary.more", { type: "button", onclick: () => { shown[which] += PAGE * 2; renderResults(); } },
        `Show more (${fmt(list.length - shown[which])} left)`));
    }
  }

  function renderResults() {
    const { strict, near } = current;
    fill(summary, 
      h("strong", { id: "strict-count", "data-count": strict.length }, fmt(strict.length)),
      ` ${strict.length === 1 ? "dataset matches" : "datasets match"}`,
      near.length ? ` · ${fmt(near.length)} near ${near.length === 1 ? "match misses" : "matches miss"} one constraint` : "");
    renderList(strictBox, "strict-title", `Matches (${fmt(strict.length)})`, strict, "strict", false);
    if (near.length || SERVER_KEYS.filter((k) => state[k]).length + (state.year ? 1 : 0) > 1) {
      renderList(nearBox, "near-title", `Near matches (${fmt(near.length)}): one constraint missed`, current.near, "near", true);
    } else fill(nearBox);
    exportCSV.textContent = `Export ${fmt(strict.length)} as CSV`;
    exportJSON.textContent = "Export JSON";
  }

  await update();
}
