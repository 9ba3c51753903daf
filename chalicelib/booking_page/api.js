// The public and member routes of one store, and nothing else: every path this page fetches starts with
// `/v1/stores/{store}/` (tests/integration/test_booking_page_files.py checks it).
//
// The member token is kept in localStorage, one per store ("chairside.member.<store>"): she can come back within
// the token's life (30 days) without another SMS code (codes are limited to 5 an hour). It names one chain and
// one member, is dropped when it expires, when the API refuses it (401) and on "sign out". A token that arrived
// in a link (#token=…) is taken into the same place and the fragment is removed from the address bar.

// The page is served at <api>/book/{store}: the API is the path before "/book/".
const match = location.pathname.match(/^(.*)\/book\/([^/]+)\/?$/);
export const API_BASE = match ? match[1] : "";
export const STORE = match ? decodeURIComponent(match[2]) : "";
const TOKEN_KEY = `chairside.member.${STORE}`;

export class ApiError extends Error {
  constructor(status, body) {
    super((body && (body.message || body.error)) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

function claimsOf(raw) {
  try {
    const part = raw.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part));
  } catch {
    return null;
  }
}

export function token() {
  const raw = localStorage.getItem(TOKEN_KEY);
  const c = raw && claimsOf(raw);
  if (!c || (c.exp && c.exp * 1000 <= Date.now())) {
    if (raw) localStorage.removeItem(TOKEN_KEY);
    return null;
  }
  return raw;
}

// A token from a "manage my booking" link may manage only that booking: it cannot book anew.
export function limitedTo() {
  const raw = token();
  return (raw && claimsOf(raw)?.booking_id) || null;
}

// A token from a link (#token=…): a "manage my booking" token does not replace her full session token.
export function adoptToken(raw) {
  const incoming = claimsOf(raw);
  if (!incoming) return;
  const current = token();
  const held = current && claimsOf(current);
  if (held && !held.booking_id && incoming.booking_id && held.sub === incoming.sub) return;
  setToken(raw);
}

export function setToken(value) {
  if (value) localStorage.setItem(TOKEN_KEY, value);
  else localStorage.removeItem(TOKEN_KEY);
}

// Unguessable enough for an idempotency key, in any browser WeChat ships (no crypto.randomUUID needed).
export function newKey() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return "page-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

const storePath = (rest) => `/v1/stores/${encodeURIComponent(STORE)}/${rest}`;

async function call(method, rest, body) {
  const headers = { Accept: "application/json" };
  const t = token();
  if (t) headers.Authorization = `Bearer ${t}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(API_BASE + storePath(rest), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
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
  if (response.status === 401 && t) setToken(null);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

const q = (params) => new URLSearchParams(params).toString();
const id = (value) => encodeURIComponent(value);

export const api = {
  catalog: () => call("GET", "catalog"),
  availability: (service, stylist, from, days) =>
    call("GET", `availability?${q({ service, stylist, from, days })}`),
  sendCode: (phone) => call("POST", "member-sessions", { phone }),
  verify: (phone, code) => call("POST", "member-sessions/verify", { phone, code }),
  wechatUrl: () => call("GET", "wechat/oauth-url"),
  wechatJsConfig: (url) => call("GET", `wechat/js-config?${q({ url })}`),
  book: (body) => call("POST", "bookings", body),
  myBookings: () => call("GET", "me/bookings"),
  reschedule: (booking, body) => call("POST", `me/bookings/${id(booking)}/reschedule`, body),
  cancel: (booking) => call("POST", `me/bookings/${id(booking)}/cancel`, {}),
  joinWaitlist: (body) => call("POST", "me/waitlist", body),
  myWaitlist: () => call("GET", "me/waitlist"),
  leaveWaitlist: (entry) => call("DELETE", `me/waitlist/${id(entry)}`),
  claim: (entry, start) => call("POST", `me/waitlist/${id(entry)}/claim`, { start }),
  myChannel: () => call("GET", "me/channel"),
  setMyChannel: (channel) => call("PUT", "me/channel", { preferred_channel: channel }),
};
