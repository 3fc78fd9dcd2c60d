// MDFP blueprint builder: the survey's JSON rules (task types, access allow-list, labelled only,
// minimum images per dataset, anatomy allow-list, release years, 3D sources usable as 2D, dim)
// edited in a form or pasted as JSON; POST /api/v1/catalog/blueprint gives the candidate groups
// with their totals, shown and downloadable (CSV, JSON) exactly as the server returns them.
import { api, offers, saveText } from "./api.js";
import { h, fill, field, emptyState, errorBox, loading, unavailable, toCSV, chip } from "./dom.js";
import { bars, fmt } from "./charts.js";
import { loadCatalog, TASK_NAMES } from "./catalog.js";

const ENDPOINT = "/api/v1/catalog/blueprint";
const STORE = "imagingx.blueprint";

const DEFAULT = { task_types: ["seg"], access: ["open"], labelled_only: true, min_images: 100, anatomy: [], released_from: 2015, released_to: null, allow_3d_as_2d: false, dim: null };

export async function render(main, route, ctx) {
  main.append(h("h1", "MDFP blueprint"), loading());
  const available = await offers("post", ENDPOINT);
  let cat = null;
  try { cat = await loadCatalog(); } catch { /* the form falls back to the vocabulary */ }
  if (!ctx.isCurrent()) return;
  const entries = cat ? cat.entries : [];
  const tasks = [...new Set(entries.flatMap((e) => e.task || []))].sort();
  const accessValues = [...new Set(entries.map((e) => e.access).filter(Boolean))].sort();
  const anatomyValues = [...new Set(entries.flatMap((e) => e.anatomy || []))].sort();
  let rules;
  try { rules = { ...DEFAULT, ...JSON.parse(sessionStorage.getItem(STORE) || "{}") }; } catch { rules = { ...DEFAULT }; }

  const taskBoxes = tasks.map((t) => h("label.check", h("input", { type: "checkbox", value: t, name: "task", checked: (rules.task_types || []).includes(t) }), ` ${TASK_NAMES[t] || t} (${t})`));
  const accessBoxes = accessValues.map((a) => h("label.check", h("input", { type: "checkbox", value: a, name: "access", checked: (rules.access || []).includes(a) }), ` ${a}`));
  const labelled = h("input", { type: "checkbox", id: "bp-labelled", checked: !!rules.labelled_only });
  const minImages = h("input", { type: "number", min: "0", step: "1", id: "bp-min", value: rules.min_images ?? "" });
  const anatomy = h("input", { type: "text", id: "bp-anatomy", list: "bp-anatomy-list", value: (rules.anatomy || []).join(", "), placeholder: "e.g. brain, abdomen (empty: any)" });
  const anatomyList = h("datalist", { id: "bp-anatomy-list" }, anatomyValues.map((a) => h("option", { value: a })));
  const from = h("input", { type: "number", id: "bp-from", min: "1950", max: "2100", value: rules.released_from ?? "" });
  const to = h("input", { type: "number", id: "bp-to", min: "1950", max: "2100", value: rules.released_to ?? "" });
  const dim = h("select", { id: "bp-dim" }, h("option", { value: "" }, "2D or 3D"), h("option", { value: "2D" }, "2D"), h("option", { value: "3D" }, "3D"));
  dim.value = rules.dim || "";
  const as2d = h("input", { type: "checkbox", id: "bp-3das2d", checked: !!rules.allow_3d_as_2d });
  const json = h("textarea", { id: "bp-json", rows: "14", spellcheck: "false" });
  const jsonNote = h("p.hint", { "aria-live": "polite" });
  const result = h("section", { id: "bp-result", "aria-live": "polite" });
  const runBtn = h("button", { type: "submit", id: "bp-run", disabled: !available }, "Build the blueprint");

  function fromForm() {
    const num = (el) => (el.value.trim() === "" ? null : Number(el.value));
    return {
      task_types: taskBoxes.map((l) => l.firstChild).filter((c) => c.checked).map((c) => c.value),
      access: accessBoxes.map((l) => l.firstChild).filter((c) => c.checked).map((c) => c.value),
      labelled_only: labelled.checked,
      min_images: num(minImages),
      anatomy: anatomy.value.split(",").map((s) => s.trim()).filter(Boolean),
      released_from: num(from),
      released_to: num(to),
      allow_3d_as_2d: as2d.checked,
      dim: dim.value || null,
    };
  }
  function toForm(r) {
    for (const l of taskBoxes) l.firstChild.checked = (r.task_types || []).includes(l.firstChild.value);
    for (const l of accessBoxes) l.firstChild.checked = (r.access || []).map((x) => String(x).toLowerCase()).includes(l.firstChild.value);
    labelled.checked = !!r.labelled_only;
    minImages.value = r.min_images ?? "";
    anatomy.value = (r.anatomy || []).join(", ");
    from.value = r.released_from ?? "";
    to.value = r.released_to ?? "";
    dim.value = r.dim ? String(r.dim).toUpperCase() : "";
    as2d.checked = !!r.allow_3d_as_2d;
  }
  function syncJSON() {
    rules = fromForm();
    json.value = JSON.stringify(rules, null, 2);
    jsonNote.textContent = "";
    try { sessionStorage.setItem(STORE, JSON.stringify(rules)); } catch { /* ignore */ }
  }
  const form = h("form.panel", { id: "bp-form", onsubmit: (e) => { e.preventDefault(); syncJSON(); run(); } },
    h("fieldset.checks", h("legend", "1. Task types (none ticked: all)"), taskBoxes),
    h("fieldset.checks", h("legend", "2. Access allow-list (none ticked: all)"), accessBoxes, h("label.check", labelled, " labelled datasets only")),
    h("fieldset.checks", h("legend", "3. Size, anatomy and release"),
      h("div.row", field("Minimum images per dataset", minImages), field("Anatomy allow-list", anatomy, "comma-separated; a region admits its parts (abdomen → liver)"), anatomyList,
        field("Released from (year)", from), field("Released to (year)", to))),
    h("fieldset.checks", h("legend", "4. Dimension"), h("div.row", field("Dimension", dim), h("label.check", as2d, " 3D sources may serve as 2D slices"))),
    h("div.row-end", runBtn));
  form.addEventListener("change", syncJSON);
  form.addEventListener("input", syncJSON);

  const applyJSON = h("button.secondary", { type: "button", id: "bp-apply-json" }, "Use this JSON");
  applyJSON.addEventListener("click", () => {
    let r;
    try { r = JSON.parse(json.value); } catch (err) { jsonNote.textContent = `Not valid JSON: ${err.message}`; return; }
    if (!r || typeof r !== "object" || Array.isArray(r)) { jsonNote.textContent = "The rules must be one JSON object."; return; }
    toForm(r);
    rules = r;
    jsonNote.textContent = "Rules taken from the JSON.";
    try { sessionStorage.setItem(STORE, JSON.stringify(r)); } catch { /* ignore */ }
    if (available) run(r);
  });

  fill(main, 
    h("div.page-head", h("h1", "MDFP blueprint"),
      h("p.muted", "The survey's rules for a multi-dataset fusion pool, applied to the catalog: which task types, which access, labelled only, how many images at least, which anatomy, which release years, and whether 3D volumes may serve as 2D slices. The result is one candidate group per task type.")),
    available ? null : unavailable("The blueprint builder", "POST /api/v1/catalog/blueprint"),
    h("div.bp-layout", form,
      h("div.panel", h("h2", "Rules as JSON"), field("Edit or paste the rules", json), jsonNote, h("div.row-end", applyJSON))),
    result);
  syncJSON();

  let lastResult = null;
  async function run(body) {
    if (!available) return;
    fill(result, loading("Applying the rules…"));
    let r;
    try { r = await api(ENDPOINT, { method: "POST", body: body || rules }); } catch (err) {
      if (err.missing) fill(result, unavailable("The blueprint builder", "POST " + ENDPOINT));
      else fill(result, errorBox(err, "The rules were refused"));
      return;
    }
    if (!ctx.isCurrent()) return;
    lastResult = r;
    showResult(r);
  }

  function showResult(r) {
    const excluded = Object.entries(r.excluded || {}).map(([label, value]) => ({ label, value })).sort((a, b) => b.value - a.value);
    const dlJSON = h("button.secondary", { type: "button", id: "bp-download-json", onclick: () => saveText(JSON.stringify(lastResult, null, 2), "imagingx-blueprint.json", "application/json") }, "Download JSON");
    const dlCSV = h("button.secondary", { type: "button", id: "bp-download-csv", onclick: () => {
      const rows = [];
      for (const g of lastResult.groups) for (const e of g.datasets) rows.push({ group: g.task, ...e });
      saveText(toCSV(["group", "name", "url", "year", "modality", "anatomy", "task", "dim", "samples", "samples_unit", "labelled", "access", "licence"], rows), "imagingx-blueprint.csv", "text/csv");
    } }, "Download CSV");
    const groups = r.groups || [];
    fill(result, 
      h("h2", "Candidate groups"),
      h("p.summary", h("strong", { id: "bp-total-datasets", "data-value": r.total_datasets }, fmt(r.total_datasets)), ` datasets, `,
        h("strong", { id: "bp-total-images", "data-value": r.total_images }, fmt(r.total_images)), " images in ",
        h("strong", { id: "bp-groups", "data-value": groups.length }, fmt(groups.length)), ` ${groups.length === 1 ? "group" : "groups"}. `,
        h("span.buttons", dlCSV, dlJSON)),
      h("p.muted", "Rules as the server read them: ", h("code", { id: "bp-normalised" }, JSON.stringify(r.rules))),
      excluded.length ? h("div.plot", bars(excluded, { label: "Left out, by the first rule they fail" })) : null,
      groups.length ? h("div", { id: "bp-group-list" }, groups.map((g) => h("details.group", { "data-task": g.task, "data-images": g.images, "data-datasets": g.datasets.length },
        h("summary", h("span.g-title", TASK_NAMES[g.task] ? `${TASK_NAMES[g.task]} (${g.task})` : g.task),
          h("span", `${fmt(g.datasets.length)} datasets`), h("span", `${fmt(g.images)} images`)),
        h("div.table-wrap", h("table", h("thead", h("tr", h("th", "Dataset"), h("th", "Year"), h("th", "Modality"), h("th.hide-narrow", "Anatomy"), h("th", "Dim"), h("th.n", "Images"), h("th.hide-narrow", "Access"))),
          h("tbody", g.datasets.map((e) => h("tr",
            h("td", e.url ? h("a", { href: e.url, target: "_blank", rel: "noopener noreferrer" }, e.name) : e.name),
            h("td", e.year ?? "–"), h("td", (e.modality || []).join(", ")), h("td.hide-narrow", (e.anatomy || []).join(", ")),
            h("td", (e.dim || []).join(", ")), h("td.n", e.samples !== null && e.samples !== undefined ? fmt(e.samples) + (e.samples_lower_bound ? "+" : "") : "–"),
            h("td.hide-narrow", [e.access, e.labelled ? " " : "", e.labelled ? chip("labelled") : null]))))))))) 
        : emptyState("No dataset passes every rule.", "Loosen a rule: the chart above says which rule left most datasets out."));
  }

  if (available) await run();
}
