// What every screen shares: who is signed in, which store, the screen's polling, and error reporting.
import { ApiError } from "./api.js";
import { toast } from "./dom.js";
import { t } from "./i18n.js";

export const session = {
  staff: null, // claims of the token
  store: null, // the store being worked in
  stop: [], // what the current screen must stop (polling) when we leave it
  screen: 0, // grows on every screen change: a screen left while still loading must not start polling
  signOut: () => {}, // set by app.js
};

export function reportError(err) {
  if (err instanceof ApiError && err.status === 401) {
    session.signOut();
    return;
  }
  const message = err instanceof ApiError && err.status === 403 ? t("err.forbidden")
    : err instanceof ApiError && err.status === 0 ? t("err.network")
      : t("err.generic", { message: err.message });
  toast(message, "error");
}

export function stopScreen() {
  session.screen += 1;
  for (const stop of session.stop.splice(0)) stop();
}

// Calls `fn` every `ms` while screen `screen` (session.screen when it started) is shown and the tab is
// visible; never overlapping. A screen already left by the time it asks gets no polling at all.
export function poll(fn, ms, screen) {
  if (screen !== session.screen) return;
  let timer = null;
  let stopped = false;
  const tick = async () => {
    if (stopped) return;
    if (!document.hidden) {
      try {
        await fn();
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) return reportError(err);
      }
    }
    if (!stopped) timer = setTimeout(tick, ms);
  };
  timer = setTimeout(tick, ms);
  session.stop.push(() => {
    stopped = true;
    clearTimeout(timer);
  });
}

export function canDo(action) {
  // Mirrors permissions.toml only to hide buttons a role cannot use; the API still decides.
  const staffOnly = ["front_desk", "store_manager", "chain_admin"];
  const rules = {
    reply: staffOnly, status: staffOnly, tags: staffOnly, mark: staffOnly, campaigns: ["store_manager", "chain_admin"],
    waitlist: staffOnly,
    book: staffOnly, // bookings.book: book, move and cancel for a member
    correct: staffOnly, // messages.correct: correct what a member's message was understood to mean
    settings: ["store_manager", "chain_admin"], // settings.read / settings.write: the store's review links, phone, limit
    chainSettings: ["chain_admin"], // chain_settings.read / chain_settings.write: the chain's feedback settings
  };
  return (rules[action] || []).includes(session.staff?.role);
}
