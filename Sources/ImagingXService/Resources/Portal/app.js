// The portal shell: header totals, navigation, hash routing (#/catalog, #/blueprint, #/datasets,
// #/datasets/ID, #/files, #/compat, #/plan, #/jobs).
import { api } from "./api.js";
import { h, fill, parseHash, errorBox } from "./dom.js";
import * as catalog from "./catalog.js";
import * as blueprint from "./blueprint.js";
import * as datasets from "./datasets.js";
import * as files from "./files.js";
import * as compat from "./compat.js";
import * as plan from "./plan.js";
import * as jobs from "./jobs.js";

const pages = {
  catalog: { module: catalog, title: "Catalog" },
  blueprint: { module: blueprint, title: "Blueprint" },
  datasets: { module: datasets, title: "Local datasets" },
  files: { module: files, title: "Files" },
  compat: { module: compat, title: "Compatibility" },
  plan: { module: plan, title: "Plan" },
  jobs: { module: jobs, title: "Index jobs" },
};

let cleanup = null;
let generation = 0;

export async function refreshTotals() {
  const el = document.getElementById("totals");
  try {
    const health = await api("/api/v1/health");
    const parts = [
      `${health.files.toLocaleString("en-US")} files`,
      `${health.datasets.toLocaleString("en-US")} datasets`,
      `${health.roots} ${health.roots === 1 ? "root" : "roots"}`,
    ];
    if (health.jobs_running) parts.push(`${health.jobs_running} index ${health.jobs_running === 1 ? "job" : "jobs"} running`);
    el.textContent = "Index: " + parts.join(" · ");
    el.classList.toggle("busy", health.jobs_running > 0);
  } catch (err) {
    el.textContent = "Index totals unavailable: " + err.message;
  }
}

async function route() {
  const r = parseHash(location.hash);
  const page = pages[r.page] ? r.page : "catalog";
  for (const a of document.querySelectorAll(".nav a")) {
    if (a.dataset.page === page) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (cleanup) { try { cleanup(); } catch { /* ignore */ } cleanup = null; }
  const main = document.getElementById("main");
  fill(main);
  main.dataset.page = page;
  main.setAttribute("aria-busy", "true");
  document.title = `${pages[page].title} · ImagingX`;
  const mine = ++generation;
  try {
    const c = await pages[page].module.render(main, r, { isCurrent: () => mine === generation, refreshTotals });
    if (mine === generation) cleanup = typeof c === "function" ? c : null;
    else if (typeof c === "function") c();
  } catch (err) {
    if (mine === generation) main.append(errorBox(err, `The ${pages[page].title.toLowerCase()} page could not load`));
  } finally {
    if (mine === generation) main.setAttribute("aria-busy", "false");
  }
}

async function version() {
  try {
    const v = await api("/api/v1/version");
    document.getElementById("version").textContent = `imagingx ${v.version} · API ${v.api}`;
  } catch { /* the footer stays short */ }
}

window.addEventListener("hashchange", () => {
  route();
  document.getElementById("main").focus({ preventScroll: true });
});
window.addEventListener("DOMContentLoaded", () => {
  if (!location.hash) history.replaceState(null, "", "#/catalog");
  route();
  refreshTotals();
  version();
});
