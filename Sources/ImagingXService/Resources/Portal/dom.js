// Small DOM helpers: h("tag.class", {attrs, onclick}, children…), and common blocks.

export function h(spec, attrs = {}, ...children) {
  const [tag, ...classes] = spec.split(".");
  const e = document.createElement(tag || "div");
  if (classes.length) e.className = classes.join(" ");
  if (attrs === null || typeof attrs !== "object" || attrs instanceof Node || Array.isArray(attrs)) {
    children.unshift(attrs);
    attrs = {};
  }
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") e.addEventListener(k.slice(2), v);
    else if (k === "class") e.className = (e.className ? e.className + " " : "") + v;
    else if (k === "text") e.textContent = v;
    else if (k === "value") e.value = v;
    else if (k === "checked") e.checked = !!v;
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  append(e, children);
  return e;
}

function append(e, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(e, c);
    else e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

let uid = 0;
export function id(prefix = "f") { uid += 1; return `${prefix}-${uid}`; }

/// A labelled control: <label for>text</label> + control.
export function field(labelText, control, hint) {
  if (!control.id) control.id = id();
  return h("div.field", h("label", { for: control.id }, labelText), control, hint ? h("small.hint", hint) : null);
}

export function emptyState(title, text, action) {
  return h("div.empty", h("p.empty-title", title), text ? h("p", text) : null, action || null);
}

export function errorBox(err, what) {
  const msg = err && err.message ? err.message : String(err);
  return h("div.error", { role: "alert" }, h("strong", what ? `${what}: ` : "Error: "), msg, err && err.code ? h("code.muted", ` (${err.code})`) : null);
}

/// A block that says an endpoint is not served by this server version.
export function unavailable(what, endpoint) {
  return h("div.unavailable", { role: "status" },
    h("p.empty-title", `${what} is not available on this server yet.`),
    h("p", "The portal needs ", h("code", endpoint), " from the service; this server does not offer it. Update imagingx and reload."));
}

export function loading(text = "Loading…") {
  return h("p.loading", { role: "status" }, text);
}

export function chip(text, cls = "") {
  return h("span.chip" + (cls ? "." + cls : ""), text);
}

export function bytes(n) {
  if (n === null || n === undefined) return "–";
  const units = ["B", "KB", "MB", "GB", "TB", "PB"];
  let i = 0, v = n;
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return (i === 0 ? String(v) : v.toFixed(v < 10 ? 1 : 0)) + " " + units[i];
}

export function debounce(fn, ms) {
  let t = null;
  return (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), ms); };
}

export function csvCell(v) {
  if (v === null || v === undefined) return "";
  const s = Array.isArray(v) ? v.join("; ") : String(v);
  return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
}

export function toCSV(columns, rows) {
  const lines = [columns.map(csvCell).join(",")];
  for (const r of rows) lines.push(columns.map((c) => csvCell(r[c])).join(","));
  return lines.join("\r\n") + "\r\n";
}

/// Parses "#/page/arg?x=1&y=2" into {page, args, params}.
export function parseHash(hash) {
  const s = (hash || "").replace(/^#\/?/, "");
  const [path, qs] = s.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { page: parts[0] || "catalog", args: parts.slice(1), params: new URLSearchParams(qs || "") };
}

export function setHashParams(page, params, replace = true) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") qs.set(k, v);
  const s = qs.toString();
  const hash = `#/${page}${s ? "?" + s : ""}`;
  if (location.hash === hash) return;
  if (replace) history.replaceState(null, "", hash);
  else location.hash = hash;
}

/// Replaces el's children, skipping null/false and flattening arrays.
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}
