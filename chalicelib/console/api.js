// The public API, with the staff token. The console has no other way in.
const TOKEN_KEY = "chairside.staffToken";

// The page is served at <api>/console, so the API is the page's path without "/console".
export const API_BASE = location.pathname.replace(/\/console\/?$/, "");

export class ApiError extends Error {
  constructor(status, body) {
    super((body && (body.message || body.error)) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export function token() {
  return localStorage.getItem(TOKEN_KEY);
}

export function setToken(value) {
  if (value) localStorage.setItem(TOKEN_KEY, value);
  else localStorage.removeItem(TOKEN_KEY);
}

// What the token says about its holder (read only to shape the UI; the API checks every request itself).
export function claims(raw = token()) {
  try {
    const part = raw.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = decodeURIComponent(Array.from(atob(part), (c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0")).join(""));
    const c = JSON.parse(json);
    const stores = c.stores ?? String(c["custom:stores"] ?? "").split(",").map((s) => s.trim()).filter(Boolean);
    return {
      subject: c.sub,
      chainId: c.chain_id ?? c["custom:chain_id"],
      role: c.role ?? c["custom:role"] ?? (c["cognito:groups"] || [])[0],
      stores,
      expires: c.exp ? new Date(c.exp * 1000) : null,
    };
  } catch {
    return null;
  }
}

export async function call(method, path, body) {
  const headers = { Accept: "application/json" };
  const t = token();
  if (t) headers.Authorization = `Bearer ${t}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(API_BASE + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    throw new ApiError(0, { message: String(err) });
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { message: text };
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export const get = (path) => call("GET", path);
export const post = (path, body) => call("POST", path, body ?? {});
export const put = (path, body) => call("PUT", path, body ?? {});
export const patch = (path, body) => call("PATCH", path, body ?? {});

// A file from the API (a report's CSV), with the staff token: a plain link could not send it.
export async function download(path) {
  const headers = { Accept: "text/csv" };
  const t = token();
  if (t) headers.Authorization = `Bearer ${t}`;
  const response = await fetch(API_BASE + path, { headers });
  if (!response.ok) throw new ApiError(response.status, { message: await response.text() });
  return response.blob();
}
