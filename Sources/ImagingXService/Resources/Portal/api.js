// The API client: JSON in and out, `{code, message}` errors, and the bearer token.
// When any call answers 401 the portal asks once for the token (a small dialog), keeps it in
// sessionStorage and sends `Authorization: Bearer …` thereafter. Calls made while the dialog is
// open wait for the same answer instead of opening a second dialog.

const TOKEN_KEY = "imagingx.token";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
  /// The route does not exist on this server (an endpoint not yet served).
  get missing() {
    return this.status === 404 && /no such resource/i.test(this.message);
  }
}

let pendingToken = null;

function token() {
  try { return sessionStorage.getItem(TOKEN_KEY); } catch { return null; }
}

function askToken(refused) {
  if (pendingToken) return pendingToken;
  pendingToken = new Promise((resolve) => {
    const dialog = document.getElementById("token-dialog");
    const form = dialog.querySelector("form");
    const input = dialog.querySelector("#token-input");
    const note = dialog.querySelector("#token-note");
    note.textContent = refused
      ? "The server refused that token. Enter the token from the file given to “imagingx serve --token-file”."
      : "This service needs an access token: the one line in the file given to “imagingx serve --token-file”.";
    input.value = "";
    const done = (value) => {
      form.removeEventListener("submit", onSubmit);
      dialog.removeEventListener("cancel", onCancel);
      if (dialog.open) dialog.close();
      pendingToken = null;
      resolve(value);
    };
    const onSubmit = (ev) => {
      ev.preventDefault();
      const v = input.value.trim();
      if (!v) { input.focus(); return; }
      try { sessionStorage.setItem(TOKEN_KEY, v); } catch { /* private mode: keep it for this call only */ }
      done(v);
    };
    const onCancel = (ev) => { ev.preventDefault(); done(null); };
    form.addEventListener("submit", onSubmit);
    dialog.addEventListener("cancel", onCancel);
    dialog.querySelector("#token-cancel").onclick = () => done(null);
    dialog.showModal();
    input.focus();
  });
  return pendingToken;
}

/// fetch() with the token; on 401 asks for it (once) and retries.
export async function request(path, { method = "GET", body, accept = "application/json" } = {}) {
  let refused = false;
  for (let attempt = 0; attempt < 3; attempt++) {
    const headers = { Accept: accept };
    const t = token();
    if (t) headers.Authorization = "Bearer " + t;
    let payload;
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      payload = typeof body === "string" ? body : JSON.stringify(body);
    }
    const response = await fetch(path, { method, headers, body: payload });
    if (response.status !== 401) return response;
    if (t) { refused = true; try { sessionStorage.removeItem(TOKEN_KEY); } catch { /* ignore */ } }
    const given = await askToken(refused);
    if (!given) throw new ApiError(401, "unauthorized", "An access token is needed to use this service.");
  }
  throw new ApiError(401, "unauthorized", "The server refused the token.");
}

async function errorOf(response) {
  let code = "http_" + response.status;
  let message = response.statusText || "request failed";
  try {
    const j = await response.json();
    if (j && j.code) code = j.code;
    if (j && j.message) message = j.message;
  } catch { /* not JSON */ }
  return new ApiError(response.status, code, message);
}

/// GET or POST returning parsed JSON; throws ApiError.
export async function api(path, options = {}) {
  const response = await request(path, options);
  if (!response.ok) throw await errorOf(response);
  return response.json();
}

/// A binary resource (thumbnail PNG) as an object URL; the caller revokes it.
export async function blobURL(path) {
  const response = await request(path, { accept: "*/*" });
  if (!response.ok) throw await errorOf(response);
  return URL.createObjectURL(await response.blob());
}

/// Downloads a server response as a file (the token travels in the header, so no plain link).
export async function download(path, fallbackName) {
  const response = await request(path, { accept: "*/*" });
  if (!response.ok) throw await errorOf(response);
  const disposition = response.headers.get("Content-Disposition") || "";
  const m = /filename="?([^";]+)"?/.exec(disposition);
  saveBlob(await response.blob(), m ? m[1] : fallbackName);
}

/// Saves client-side data (CSV/JSON export of what the page shows).
export function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 5000);
}

export function saveText(text, name, type) {
  saveBlob(new Blob([text], { type }), name);
}

/// The OpenAPI contract's paths, read once: which endpoints this server offers.
let contract = null;
export function contractPaths() {
  if (!contract) {
    contract = fetch("/openapi.json", { headers: { Accept: "application/json" } })
      .then((r) => (r.ok ? r.json() : { paths: {} }))
      .then((doc) => doc.paths || {})
      .catch(() => ({}));
  }
  return contract;
}

/// Whether the server's contract lists METHOD PATH (template as in the document, e.g. "/api/v1/plans/{id}/export").
export async function offers(method, path) {
  const paths = await contractPaths();
  const item = paths[path];
  return !!(item && item[method.toLowerCase()]);
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === "") continue;
    if (Array.isArray(v)) v.forEach((x) => q.append(k, x));
    else q.append(k, String(v));
  }
  const s = q.toString();
  return s ? "?" + s : "";
}
