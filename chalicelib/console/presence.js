// Staff presence (issue 17): a heartbeat about once a minute while the console is open and its tab visible (the
// API counts staff online for 120 s after the last one, so a closed console goes offline by itself), and an
// explicit goodbye on sign-out, store change and page close.
import { API_BASE, call, token } from "./api.js";
import { session } from "./session.js";

const BEAT_MS = 60000;
let timer = null;
let beatingAt = null; // the store this console last said it is online at

const path = (store) => `/v1/stores/${encodeURIComponent(store)}/staff/presence`;

async function beat() {
  if (!session.staff || !session.store || document.hidden) return;
  try {
    await call("PUT", path(session.store));
    beatingAt = session.store;
  } catch {
    // presence is best effort: the inbox works without it
  }
}

function goOffline() {
  if (!beatingAt || !token()) return;
  const store = beatingAt;
  beatingAt = null;
  fetch(API_BASE + path(store), { method: "DELETE", keepalive: true, headers: { Authorization: `Bearer ${token()}` } })
    .catch(() => {});
}

export function startPresence() {
  stopPresence();
  beat();
  timer = setInterval(beat, BEAT_MS);
}

export function stopPresence() {
  clearInterval(timer);
  timer = null;
  goOffline();
}

document.addEventListener("visibilitychange", () => {
  if (!document.hidden && timer) beat(); // back in view: say so at once; hidden: the beats stop and it expires
});
window.addEventListener("pagehide", goOffline);
