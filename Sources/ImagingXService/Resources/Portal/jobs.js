// Index jobs: the roots, a button to re-index one (or a folder inside it), a live progress bar per
// job with the terminal's figures (done/total, percent, files/s, MB/s, ETA; a count with a rate
// while the walk is still counting), cancel, and the errors each job met.
import { api, offers } from "./api.js";
import { h, fill, field, emptyState, errorBox, loading, chip, bytes } from "./dom.js";
import { progressBar, setProgress, fmt } from "./charts.js";

function duration(s) {
  if (!Number.isFinite(s) || s < 0) return "–";
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

/// The figures a person reads off a job's progress.
/// Rates over the last 5 s of polled samples (as the terminal bar shows them), else over the whole job.
const history = new Map();
function rates(job) {
  const p = job.progress || {};
  const secs = p.seconds || 0;
  let samples = history.get(job.id) || [];
  if (!samples.length || samples[samples.length - 1].t !== secs) samples.push({ t: secs, done: p.done || 0, bytes: p.bytes || 0 });
  samples = samples.filter((x) => x.t >= secs - 5);
  history.set(job.id, samples);
  const first = samples[0];
  if (job.state === "running" && samples.length > 1 && secs - first.t >= 1) {
    const dt = secs - first.t;
    return { rate: ((p.done || 0) - first.done) / dt, mbps: ((p.bytes || 0) - first.bytes) / dt / 1e6 };
  }
  return { rate: secs > 0 ? (p.done || 0) / secs : null, mbps: secs > 0 ? (p.bytes || 0) / secs / 1e6 : null };
}

export function figures(job) {
  const p = job.progress || {};
  const { rate, mbps } = rates(job);
  const finished = job.state !== "running";
  let fraction = null, text;
  if (finished && job.state === "finished") fraction = 1;
  else if (p.walkFinished) fraction = p.seen > 0 ? p.done / p.seen : 1;
  if (p.walkFinished || finished) {
    const total = p.seen || 0;
    const left = Math.max(0, total - (p.done || 0));
    const eta = rate && rate > 0 && !finished ? left / rate : null;
    text = `${fmt(p.done || 0)} / ${fmt(total)} files · ${fraction !== null ? (fraction * 100).toFixed(fraction === 1 ? 0 : 1) : "–"} %`
      + (rate !== null ? ` · ${fmt(rate, 3)} files/s` : "") + (mbps !== null ? ` · ${fmt(mbps, 3)} MB/s` : "")
      + (eta !== null ? ` · ETA ${duration(eta)}` : "");
  } else {
    text = `counting files… ${fmt(p.seen || 0)} found, ${fmt(p.done || 0)} done` + (rate !== null ? ` · ${fmt(rate, 3)} files/s` : "");
  }
  if (p.phase && p.phase !== "files" && job.state === "running") text += ` · ${p.phase}`;
  return { fraction, text };
}

export async function render(main, route, ctx) {
  main.append(h("h1", "Index jobs"), loading());
  const rootsBox = h("section", { id: "roots" });
  const jobsBox = h("section", { id: "jobs" });
  const message = h("div", { "aria-live": "polite" });
  fill(main, 
    h("div.page-head", h("h1", "Index jobs"),
      h("p.muted", "Bring the index up to date with the files on disk: only new or changed files are read again; removed files leave the index. The service indexes only folders inside its configured roots.")),
    message, rootsBox, jobsBox);

  let timer = null;
  let stopped = false;
  const bars = new Map();

  async function start(path) {
    fill(message);
    try {
      const job = await api("/api/v1/jobs", { method: "POST", body: { root: path } });
      fill(message, h("p.summary", { role: "status" }, `Started job ${job.id} on ${job.root}.`));
      await refresh();
    } catch (err) {
      const what = err.status === 409 ? "That root is already being indexed" : err.status === 403 ? "Not allowed" : "The job could not start";
      fill(message, errorBox(err, what));
    }
  }

  async function renderRoots() {
    let roots;
    try { roots = await api("/api/v1/roots"); } catch (err) { fill(rootsBox, errorBox(err, "The roots could not be listed")); return; }
    if (!ctx.isCurrent()) return;
    const folder = h("input", { type: "text", id: "job-path", placeholder: roots[0] ? roots[0].path : "/path/inside/a/root", value: roots[0] ? roots[0].path : "" });
    fill(rootsBox, h("h2", "Roots"),
      roots.length ? h("div.table-wrap", h("table", { id: "roots-table" },
        h("thead", h("tr", h("th", "Folder"), h("th", "State"), h("th.n", "Files"), h("th.hide-narrow", "Last indexed"), h("th", h("span.sr-only", "Action")))),
        h("tbody", roots.map((r) => h("tr",
          h("td.path", r.path),
          h("td", r.available ? chip("available", "ok") : [chip("unavailable", "bad"), " ", h("span.muted", r.unavailable_reason || "")]),
          h("td.n", fmt(r.files)),
          h("td.hide-narrow", r.indexed_at ? r.indexed_at.replace("T", " ").replace("Z", " UTC") : "never"),
          h("td", h("button", { type: "button", "data-root": r.path, onclick: () => start(r.path), "aria-label": `Re-index ${r.path}` }, "Re-index")))))))
        : emptyState("No root is configured.", "Start the service with “--root FOLDER” to let the portal index folders."),
      roots.length ? h("form.row.panel", { onsubmit: (e) => { e.preventDefault(); const v = folder.value.trim(); if (v) start(v); } },
        field("Index a folder (inside a root)", folder), h("button", { type: "submit" }, "Start index job")) : null);
  }

  function jobCard(job) {
    const f = figures(job);
    let bar = bars.get(job.id);
    if (!bar) { bar = progressBar(f.fraction, f.text); bars.set(job.id, bar); }
    else setProgress(bar, f.fraction, f.text);
    bar.setAttribute("aria-label", `Job ${job.id} progress`);
    const errors = job.errors || [];
    const o = job.outcome;
    return h("article.job", { "data-job": job.id, "data-state": job.state },
      h("div.job-head", h("strong", `Job ${job.id}`), h("span.state." + job.state, job.state), h("span.path", job.root),
        h("span.muted", `started ${(job.started_at || "").replace("T", " ").replace("Z", " UTC")}`),
        job.state === "running" ? h("button.danger", { type: "button", onclick: () => cancel(job.id) }, "Cancel") : null),
      bar,
      h("p.job-figures", f.text),
      o ? h("p.job-figures", `${fmt(o.seen)} seen · ${fmt(o.read)} read · ${fmt(o.unchanged)} unchanged · ${fmt(o.removed)} removed · ${bytes(o.bytes)} read · datasets: ${fmt(o.datasets_fingerprinted)} fingerprinted, ${fmt(o.datasets_kept)} unchanged`
        + (o.available === false ? " · root unavailable" : "")) : null,
      job.error ? errorBox({ message: job.error }, "The job failed") : null,
      errors.length ? h("details", h("summary", `${fmt(errors.length)} ${errors.length === 1 ? "file" : "files"} with errors`),
        h("ul.finding-list", errors.slice(0, 200).map((e) => h("li", h("a.path", { href: `#/files?path=${encodeURIComponent(e.path)}&status=error` }, e.path), ": ", h("span.muted", e.message)))),
        errors.length > 200 ? h("p.muted", `and ${errors.length - 200} more: see the Files page with status “error”.`) : null) : null);
  }

  async function cancel(id) {
    try {
      if (await offers("post", "/api/v1/jobs/{id}/cancel")) await api(`/api/v1/jobs/${id}/cancel`, { method: "POST" });
      else await api(`/api/v1/jobs/${id}`, { method: "DELETE" });
    } catch (err) { fill(message, errorBox(err, "Cancel")); }
    await refresh();
  }

  let wasRunning = false;
  async function refresh() {
    clearTimeout(timer);
    if (stopped) return;
    let jobs;
    try { jobs = await api("/api/v1/jobs"); } catch (err) { fill(jobsBox, h("h2", "Jobs"), errorBox(err, "The jobs could not be listed")); return; }
    if (stopped || !ctx.isCurrent()) return;
    jobs.sort((a, b) => b.id - a.id);
    fill(jobsBox, h("h2", "Jobs"), jobs.length ? h("div", jobs.map(jobCard)) : emptyState("No index job has run since the service started.", "Press “Re-index” beside a root to start one."));
    const running = jobs.some((j) => j.state === "running");
    if (wasRunning && !running) { ctx.refreshTotals(); renderRoots(); }
    if (running) ctx.refreshTotals();
    wasRunning = running;
    timer = setTimeout(refresh, running ? 500 : 3000);
  }

  await renderRoots();
  await refresh();
  return () => { stopped = true; clearTimeout(timer); };
}
