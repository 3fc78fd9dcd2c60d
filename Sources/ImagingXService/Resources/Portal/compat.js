// Compatibility of chosen local datasets: a heatmap of pair scores whose cell opens the factor
// breakdown (score, weight, reason per factor), factor weights as inputs, and the fusion groups.
import { api, offers } from "./api.js";
import { h, fill, field, emptyState, errorBox, loading, unavailable, chip, bytes } from "./dom.js";
import { heatmap, fmt } from "./charts.js";
import { selection, setSelection } from "./datasets.js";

const ENDPOINT = "/api/v1/compat";
// The factors and default weights of `imagingx compat` (README: formula and worked example).
export const FACTORS = [["modality", 3], ["dim", 2], ["task", 1], ["anatomy", 1], ["labels", 2], ["spacing", 2],
  ["intensity", 2], ["dtype", 0.5], ["channels", 1], ["orientation", 0.5], ["licence", 0.5]];

/// A checkbox list of local datasets; returns {box, chosen()}.
export function datasetPicker(datasets, preset, legend) {
  const boxes = datasets.map((d) => h("label.check", h("input", { type: "checkbox", value: String(d.id), checked: preset.has(d.id), name: "dataset" }),
    ` ${d.name}`, h("span.muted", ` · ${fmt(d.cases)} ${d.cases === 1 ? "case" : "cases"}${d.modality ? " · " + d.modality : ""}`)));
  const box = h("fieldset.checks", { id: "dataset-picker" }, h("legend", legend), boxes);
  const chosen = () => boxes.map((l) => l.firstChild).filter((c) => c.checked).map((c) => Number(c.value));
  box.addEventListener("change", () => setSelection(chosen()));
  return { box, chosen };
}

export function presetIds(route) {
  const ids = (route.params.get("ids") || "").split(",").map(Number).filter((n) => Number.isFinite(n) && n > 0);
  return new Set(ids.length ? ids : selection());
}

function sharedText(shared) {
  const list = Array.isArray(shared) ? shared : [];
  const n = Array.isArray(shared) ? shared.length : Number(shared) || 0;
  if (!n) return "No case has the same voxels in both datasets.";
  const names = list.slice(0, 10).map((c) => (typeof c === "string" ? c : JSON.stringify(c))).join(", ");
  return `${fmt(n)} ${n === 1 ? "case has" : "cases have"} the same voxels in both (counted once when fused)${names ? ": " + names : ""}${list.length > 10 ? ", …" : ""}.`;
}

export async function render(main, route, ctx) {
  main.append(h("h1", "Compatibility"), loading());
  const available = await offers("post", ENDPOINT);
  let datasets;
  try { datasets = (await api("/api/v1/datasets")).items; } catch (err) { fill(main, h("h1", "Compatibility"), errorBox(err, "The datasets could not be listed")); return; }
  if (!ctx.isCurrent()) return;
  const preset = presetIds(route);
  const picker = datasetPicker(datasets, preset, "Datasets to compare (two or more)");
  const weights = FACTORS.map(([name, w]) => {
    const input = h("input", { type: "number", min: "0", max: "100", step: "0.5", value: String(w), "data-factor": name, size: "4" });
    return [name, input];
  });
  const result = h("section", { id: "compat-result" });
  const run = h("button", { type: "submit", id: "compat-run", disabled: !available }, "Compare");
  fill(main, 
    h("div.page-head", h("h1", "Compatibility"),
      h("p.muted", "How safely datasets can be fused voxel-wise: 0 = do not fuse, 1 = fuse as is. A score is the weighted mean of factor scores, and 0 when the modalities are known and disjoint (gated). Select a cell for its reasons.")),
    available ? null : unavailable("The compatibility matrix", "POST /api/v1/compat"),
    datasets.length < 2 ? emptyState("Fewer than two datasets are indexed.", "Index more folders on the Index jobs page.") : null,
    h("form.panel", { onsubmit: (e) => { e.preventDefault(); compare(); } },
      picker.box,
      h("details", h("summary", "Factor weights"), h("div.row", weights.map(([name, input]) => field(name, input)))),
      h("div.row-end", run)),
    result);

  async function compare() {
    const ids = picker.chosen();
    if (ids.length < 2) { fill(result, emptyState("Choose at least two datasets.")); return; }
    const body = { datasets: ids, weights: Object.fromEntries(weights.map(([n, i]) => [n, Number(i.value)])) };
    fill(result, loading("Comparing…"));
    let r;
    try { r = await api(ENDPOINT, { method: "POST", body }); } catch (err) {
      fill(result, err.missing ? unavailable("The compatibility matrix", "POST " + ENDPOINT) : errorBox(err, "The comparison failed"));
      return;
    }
    if (!ctx.isCurrent()) return;
    show(r);
  }

  function show(r) {
    const names = r.datasets.map((d) => d.name);
    const idOf = new Map(r.datasets.map((d) => [d.name, d.id]));
    const pair = new Map();
    for (const p of r.pairs) { pair.set(p.a + "\u0000" + p.b, p); pair.set(p.b + "\u0000" + p.a, p); }
    const breakdown = h("div", { id: "compat-breakdown", "aria-live": "polite" });
    const pick = (i, j) => {
      const p = pair.get(names[i] + "\u0000" + names[j]);
      if (!p) { fill(breakdown, emptyState("No score for this pair.")); return; }
      fill(breakdown, h("div.panel",
        h("h3", { tabindex: "-1" }, `${p.a} × ${p.b}: ${p.score.toFixed(3)}`, p.gated ? [" ", chip("gated: modalities disjoint", "bad")] : ""),
        h("div.table-wrap", h("table", { id: "factor-table" },
          h("thead", h("tr", h("th", "Factor"), h("th.n", "Score"), h("th.n", "Weight"), h("th", "Reason"))),
          h("tbody", (p.factors || []).map((f) => h("tr", h("td", f.name), h("td.n", fmt(f.score)), h("td.n", fmt(f.weight)), h("td", f.reason)))))),
        h("p.muted", sharedText(p.shared_cases))));
      breakdown.querySelector("h3").focus();
    };
    const map = heatmap(names, (i, j) => {
      if (i === j) return { score: null, text: names[i] };
      const p = pair.get(names[i] + "\u0000" + names[j]);
      return p ? { score: p.score, gated: p.gated, text: `${names[i]} × ${names[j]}: ${p.score.toFixed(3)}${p.gated ? " (gated)" : ""}` } : { score: null, text: "no score" };
    }, { label: `Pair scores (${names.length} × ${names.length})`, onPick: pick });
    map.id = "compat-heatmap";
    const legend = h("div.heat-legend", "0", ["h0", "h3", "h5", "h7", "h9"].map((c) => h("span.sw." + c)), "1", h("span", " · red border: gated"));
    const groups = r.groups || [];
    fill(result, 
      h("h2", "Pair scores"), legend, map, breakdown,
      h("h2", "Fusion groups"),
      h("p.muted", `Datasets joined by pairs scoring at least ${r.threshold ?? 0.6}. Cases with the same voxels in two datasets count once.`),
      groups.length ? h("div.table-wrap", h("table", { id: "groups-table" },
        h("thead", h("tr", h("th", "Datasets"), h("th.n", "Cases"), h("th.n.hide-narrow", "Voxels"), h("th.n.hide-narrow", "Size"), h("th", "Labels"), h("th", "Modalities"), h("th", h("span.sr-only", "Plan")))),
        h("tbody", groups.map((g) => h("tr",
          h("td", g.datasets.join(" + ")), h("td.n", fmt(g.cases), g.duplicate_cases ? h("div.muted", `${fmt(g.duplicate_cases)} duplicates`) : null), h("td.n.hide-narrow", fmt(g.voxels)), h("td.n.hide-narrow", bytes(g.bytes)),
          h("td", (g.labels || []).join(", ") || "–"), h("td", (g.modalities || []).join(", ") || "–"),
          h("td", h("a", { href: `#/plan?ids=${g.datasets.map((n) => idOf.get(n)).filter((x) => x !== undefined).join(",")}` }, "Plan this group")))))))
        : emptyState("No group: no pair scores high enough to fuse."));
  }

  if (available && preset.size >= 2) await compare();
}
