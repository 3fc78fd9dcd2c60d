// The fusion plan for chosen local datasets: target spacing and orientation, normalisation,
// label map, warnings, the per-case table, and exports (nnU-Net, MONAI, MDFP, CSV).
import { api, offers, download } from "./api.js";
import { h, fill, field, emptyState, errorBox, loading, unavailable, chip, bytes } from "./dom.js";
import { fmt } from "./charts.js";
import { datasetPicker, presetIds } from "./compat.js";

const ENDPOINT = "/api/v1/plans";
const ROWS = 100;

export async function render(main, route, ctx) {
  main.append(h("h1", "Fusion plan"), loading());
  const available = await offers("post", ENDPOINT);
  const canExport = await offers("get", "/api/v1/plans/{id}/export");
  let datasets;
  try { datasets = (await api("/api/v1/datasets")).items; } catch (err) { fill(main, h("h1", "Fusion plan"), errorBox(err, "The datasets could not be listed")); return; }
  if (!ctx.isCurrent()) return;
  const preset = presetIds(route);
  const picker = datasetPicker(datasets, preset, "Datasets to fuse");
  const auto = h("input", { type: "radio", name: "target", value: "auto", checked: true, id: "target-auto" });
  const custom = h("input", { type: "radio", name: "target", value: "custom", id: "target-custom" });
  const zyx = ["z", "y", "x"].map((a) => h("input.spacing-input", { type: "number", min: "0.001", max: "1000", step: "any", placeholder: "auto", "data-axis": a }));
  const result = h("section", { id: "plan-result" });
  fill(main, 
    h("div.page-head", h("h1", "Fusion plan"),
      h("p.muted", "One target grid for the chosen datasets (nnU-Net's rule by default), with each case's resampling, a shared label map and the normalisation per modality. Warnings say what needs a decision.")),
    available ? null : unavailable("Planning", "POST /api/v1/plans"),
    h("form.panel", { onsubmit: (e) => { e.preventDefault(); makePlan(); } },
      picker.box,
      h("fieldset.checks", h("legend", "Target spacing"),
        h("label.check", auto, " automatic (median per axis; an anisotropic axis takes its 10th percentile)"),
        h("div.row", h("label.check", custom, " fixed (mm):"), zyx.map((i) => field(`${i.dataset.axis} (mm)`, i)))),
      h("div.row-end", h("button", { type: "submit", id: "plan-run", disabled: !available }, "Make the plan"))),
    result);
  for (const i of zyx) i.addEventListener("input", () => { custom.checked = true; });

  async function makePlan() {
    const ids = picker.chosen();
    if (!ids.length) { fill(result, emptyState("Choose at least one dataset.")); return; }
    let target = "auto";
    if (custom.checked) {
      target = zyx.map((i) => Number(i.value));
      if (target.some((v) => !(v > 0))) { fill(result, errorBox({ message: "Give a positive spacing for z, y and x." }, "Target spacing")); return; }
    }
    fill(result, loading("Planning…"));
    let r;
    try { r = await api(ENDPOINT, { method: "POST", body: { datasets: ids, target } }); } catch (err) {
      fill(result, err.missing ? unavailable("Planning", "POST " + ENDPOINT) : errorBox(err, "The plan could not be made"));
      return;
    }
    if (!ctx.isCurrent()) return;
    show(r);
  }

  function show(r) {
    const plan = r.plan || {};
    const warnings = [...(plan.warnings || []), ...(plan.label_conflicts || []).map((c) => (typeof c === "string" ? c : "label conflict: " + JSON.stringify(c)))];
    const cases = plan.cases || [];
    let shown = ROWS;
    const tbody = h("tbody");
    const more = h("button.secondary.more", { type: "button" });
    const fillRows = () => {
      fill(tbody, ...cases.slice(0, shown).map((c) => h("tr",
        h("td", c.dataset), h("td", c.id), h("td", (c.dims || []).join(" × ")), h("td.hide-narrow", (c.spacing || []).map((s) => fmt(s)).join(" × ")),
        h("td", (c.new_shape || []).join(" × ")), h("td.hide-narrow", (c.resampling || []).join("; ")), h("td", c.orientation || "–"),
        h("td.n.hide-narrow", bytes(c.output_bytes)), h("td", (c.warnings || []).map((w) => chip(w, "warn"))))));
      more.hidden = cases.length <= shown;
      more.textContent = `Show more (${fmt(cases.length - shown)} left)`;
    };
    more.addEventListener("click", () => { shown += ROWS * 5; fillRows(); });
    fillRows();
    const exportBtn = (fmtName, label) => {
      const b = h("button.secondary", { type: "button", "data-format": fmtName, disabled: !canExport }, label);
      b.addEventListener("click", () => download(`/api/v1/plans/${r.id}/export?format=${fmtName}`, `imagingx-plan-${r.id}.${fmtName === "csv" ? "csv" : "json"}`)
        .catch((err) => result.prepend(errorBox(err, `${label} export`))));
      return b;
    };
    const ts = plan.target_spacing || [];
    fill(result, 
      h("h2", `Plan ${r.id}`),
      h("ul.kpis",
        h("li", h("span.k", "Target spacing (x × y × z)"), h("span.v", ts.map((s) => fmt(s)).join(" × ") || "–")),
        h("li", h("span.k", "Orientation"), h("span.v", plan.target_orientation || plan.target_frame || "–")),
        h("li", h("span.k", "Cases"), h("span.v", fmt(cases.length))),
        h("li", h("span.k", "Output size"), h("span.v", bytes(plan.total_output_bytes)))),
      plan.rule ? h("p.muted", "Rule: ", plan.rule) : null,
      h("div.buttons", { id: "plan-exports" }, h("span", "Export: "), exportBtn("nnunet", "nnU-Net"), exportBtn("monai", "MONAI"), exportBtn("mdfp", "MDFP"), exportBtn("csv", "CSV")),
      canExport ? null : unavailable("Plan exports", "GET /api/v1/plans/{id}/export"),
      h("h3", "Warnings"),
      warnings.length ? h("ul.warning-list", { id: "plan-warnings" }, warnings.map((w) => h("li", w))) : h("p.muted", { id: "plan-warnings" }, "No warnings."),
      h("h3", "Normalisation"),
      (plan.normalisation || []).length ? h("ul", (plan.normalisation || []).map((n) => h("li", h("strong", n.modality || "?"), `: ${n.scheme}`, h("span.muted", ` (${(n.datasets || []).join(", ")})`)))) : h("p.muted", "–"),
      h("h3", "Labels"),
      (plan.labels || []).length ? h("div.table-wrap", h("table", h("thead", h("tr", h("th.n", "Value"), h("th", "Name"), h("th", "Source values"))),
        h("tbody", plan.labels.map((l) => h("tr", h("td.n", l.value), h("td", l.name), h("td", Object.entries(l.source_values || {}).map(([d, v]) => `${d}: ${v}`).join(" · "))))))) : h("p.muted", "No label maps."),
      h("h3", `Cases (${fmt(cases.length)})`),
      cases.length ? h("div.table-wrap", h("table", { id: "plan-cases" },
        h("thead", h("tr", h("th", "Dataset"), h("th", "Case"), h("th", "Dims"), h("th.hide-narrow", "Spacing"), h("th", "New shape"), h("th.hide-narrow", "Resampling"), h("th", "Orientation"), h("th.n.hide-narrow", "Output"), h("th", "Warnings"))),
        tbody)) : emptyState("The plan has no case."),
      more);
  }

  if (available && preset.size >= 1 && route.params.get("ids")) await makePlan();
}
