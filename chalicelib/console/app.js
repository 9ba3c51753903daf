// The staff console: sign-in, the shell (tabs, store, language) and a hash router over the screens.
import { ApiError, claims, get, setToken, token } from "./api.js";
import { renderCampaigns } from "./campaigns.js";
import { clear, h } from "./dom.js";
import { locale, setLocale, t } from "./i18n.js";
import { renderInbox } from "./inbox.js";
import { startPresence, stopPresence } from "./presence.js";
import { renderReports } from "./reports.js";
import { canDo, reportError, session, stopScreen } from "./session.js";
import { renderSettings } from "./settings.js";
import { renderTimeline, renderToday } from "./today.js";

const LOCALE_KEY = "chairside.locale";
const STORE_KEY = "chairside.store";
const main = document.getElementById("main");

const ROUTES = [
  { name: "inbox", pattern: /^#\/inbox(?:\/([^/]+))?$/, render: (m, view) => renderInbox(view, session, m[1] && decodeURIComponent(m[1])) },
  { name: "today", pattern: /^#\/today(?:\/(\d{4}-\d{2}-\d{2}))?$/, render: (m, view) => renderToday(view, session, m[1]) },
  { name: "today", pattern: /^#\/book\/([^/]+)$/, render: (m, view) => renderToday(view, session, undefined, decodeURIComponent(m[1])) },
  { name: "today", pattern: /^#\/booking\/([^/]+)$/, render: (m, view) => renderTimeline(view, session, decodeURIComponent(m[1])) },
  { name: "campaigns", pattern: /^#\/campaigns$/, render: (m, view) => renderCampaigns(view, session) },
  { name: "reports", pattern: /^#\/reports$/, render: (m, view) => renderReports(view, session) },
  { name: "settings", pattern: /^#\/settings$/, render: (m, view) => renderSettings(view, session) },
];

function route() {
  stopScreen();
  if (!session.staff) return renderSignIn();
  const hash = location.hash || "#/inbox";
  const match = ROUTES.map((r) => [r, hash.match(r.pattern)]).find(([, m]) => m);
  if (!match) {
    location.hash = "#/inbox";
    return;
  }
  const [r, m] = match;
  renderShell(r.name);
  // Each screen paints into its own element: a slow answer for a screen already left lands nowhere.
  const view = document.createElement("div");
  main.replaceChildren(view);
  Promise.resolve(r.render(m, view)).catch(reportError);
}

function renderShell(active) {
  const bar = document.getElementById("topbar");
  bar.hidden = false;
  const tabs = document.getElementById("tabs");
  const names = ["inbox", "today", "campaigns", "reports", ...(canDo("settings") ? ["settings"] : [])];
  clear(tabs, names.map((name) =>
    h("a", { href: `#/${name}`, class: "tab", "aria-current": name === active ? "page" : null, dataset: { testid: `tab-${name}` } },
      t(`nav.${name}`))));
  const select = document.getElementById("store-select");
  clear(select, session.staff.stores.map((id) => h("option", { value: id, selected: id === session.store }, id)));
  select.hidden = session.staff.stores.length < 2;
  document.getElementById("store-label").textContent = t("top.store");
document.getElementById("lang-toggle").textContent = t("top.lang");
  document.getElementById("sign-out").textContent = t("top.signout");
  document.querySelector(".skip").textContent = t("app.skip");
}

function renderSignIn() {
  document.getElementById("topbar").hidden = true;
  const input = h("textarea", { id: "token", rows: 3, required: true, autocomplete: "off", spellcheck: "false", dataset: { testid: "token-input" } });
  const error = h("p", { class: "form-error", role: "alert" });
  const demo = h("div", { class: "demo-users" });
  const form = h("form", { class: "card signin", dataset: { testid: "signin-form" } },
    h("div", { class: "signin-brand" }, h("span", { class: "logo", "aria-hidden": "true" }), "Chairside"),
    h("h1", {}, t("signin.title")),
    h("p", { class: "muted" }, t("signin.lead")),
    h("label", { for: "token" }, t("signin.token")), input, error,
    h("div", { class: "row" },
      h("button", { type: "submit", class: "primary", dataset: { testid: "signin-submit" } }, t("signin.submit")),
      h("button", { type: "button", class: "ghost", onclick: toggleLocale }, t("top.lang"))),
    demo);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    signIn(input.value.trim()).catch(() => {
      error.textContent = t("signin.bad");
    });
  });
  clear(main, h("div", { class: "signin-page" }, form));
  input.focus();
  loadDemoUsers(demo);
}

// Only the local stack answers /v1/_local/*: there, offer its demo staff; a deployed stage has none.
async function loadDemoUsers(box) {
  let users = [];
  try {
    users = (await get("/v1/_local/demo-users")).users || [];
  } catch {
    return;
  }
  if (!users.length) return;
  clear(box, h("h2", {}, t("signin.demo")), h("div", { class: "chips" }, users.map((u) =>
    h("button", { type: "button", class: "chip", dataset: { testid: `demo-${u.label.replace(/\s+/g, "-")}` },
      onclick: () => signIn(u.token).catch(reportError) },
    `${t(`role.${u.role}`)} · ${u.stores.join(", ")}`))));
}

async function signIn(raw) {
  const c = claims(raw);
  if (!c || !c.stores.length) throw new Error("bad token");
  setToken(raw);
  // Prove the token against the API before showing anything.
  try {
    await get(`/v1/stores/${encodeURIComponent(c.stores[0])}/conversations?limit=1`);
  } catch (err) {
    if (err instanceof ApiError && (err.status === 401 || err.status === 404)) {
      setToken(null);
      throw err;
    }
  }
  start(c);
}

function start(c) {
  session.staff = c;
  const saved = localStorage.getItem(STORE_KEY);
  session.store = c.stores.includes(saved) ? saved : c.stores[0];
  if (!location.hash || location.hash === "#/") location.hash = "#/inbox";
  startPresence();
  route();
}

function signOut() {
  stopScreen();
  stopPresence();
  setToken(null);
  session.staff = null;
  location.hash = "";
  route();
}

function toggleLocale() {
  setLocale(locale() === "zh-CN" ? "en" : "zh-CN");
  localStorage.setItem(LOCALE_KEY, locale());
  route();
}

session.signOut = signOut;
document.getElementById("lang-toggle").addEventListener("click", toggleLocale);
document.getElementById("sign-out").addEventListener("click", signOut);
document.getElementById("store-select").addEventListener("change", (event) => {
  stopPresence();
  session.store = event.target.value;
  localStorage.setItem(STORE_KEY, session.store);
  startPresence();
  route();
});
window.addEventListener("hashchange", route);

setLocale(localStorage.getItem(LOCALE_KEY) || (navigator.language.startsWith("zh") ? "zh-CN" : "en"));
const existing = token() && claims();
if (existing && (!existing.expires || existing.expires > new Date()) && existing.stores.length) start(existing);
else {
  setToken(null);
  route();
}
