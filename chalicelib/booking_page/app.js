// The member's booking page: service → stylist → day and time → phone code (or WeChat) → confirm → done;
// "My bookings" (reschedule, cancel), the waitlist of a full day, and the links from messages
// (#token=…&booking=… to manage one booking, #token=…&claim=…&start=… to claim a freed time).
import { ApiError, STORE, adoptToken, api, limitedTo, newKey, setToken, token } from "./api.js";
import { locale, pick, setLocale, t } from "./i18n.js";
import { inWeChat, offerSubscribe } from "./wechat.js";

const LOCALE_KEY = "chairside.member.locale"; // hers, apart from the staff console's on the same origin
const PENDING_KEY = `chairside.pending.${STORE}`; // the chosen slot, kept across a WeChat sign-in round trip
const DAYS = 14;
const main = document.getElementById("main");

const state = {
  catalog: null,
  view: "service",
  service: null, // a catalogue service
  stylist: "any", // a stylist id or "any"
  slots: [],
  day: null,
  slot: null, // {start, stylist_id, stylist_name}
  key: null, // the idempotency key of the booking being confirmed
  alternatives: null,
  notice: null,
  booked: null,
  afterSignIn: null,
  focus: null, // a booking id from a manage link
  claim: null, // {id, start} from a claim link
  moving: null, // the booking being rescheduled, with its slots and day
  waitlistJoined: null,
};

// ---------- small helpers ----------

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), value);
    else if (name === "class") el.className = value;
    else if (name === "testid") el.dataset.testid = value;
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

let toastTimer = null;
function toast(message, kind = "info") {
  const el = document.getElementById("toast");
  el.textContent = message;
  el.dataset.kind = kind;
  el.classList.add("show");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => el.classList.remove("show"), 4000);
}

function reportError(err) {
  if (err instanceof ApiError && err.status === 401) {
    toast(t("error.session"), "error");
    return;
  }
  toast(t("error.generic"), "error");
}

// Times arrive in the store's zone with its offset ("2026-11-22T15:00:00+08:00"): shown as the store sees them.
const hhmm = (iso) => (iso ? iso.slice(11, 16) : "");
const dayOf = (iso) => (iso ? iso.slice(0, 10) : "");

function partOfDay(iso) {
  const hour = Number(iso.slice(11, 13));
  return hour < 12 ? "morning" : hour < 18 ? "afternoon" : "evening";
}

function storeToday() {
  const tz = state.catalog?.store?.timezone || "UTC";
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-US", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit" })
      .formatToParts(new Date())
      .map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day}`;
}

function addDays(day, n) {
  const [y, m, d] = day.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}

function dayLabel(day) {
  const today = storeToday();
  if (day === today) return t("day.today");
  if (day === addDays(today, 1)) return t("day.tomorrow");
  const [y, m, d] = day.split("-").map(Number);
  return t("weekday")[new Date(Date.UTC(y, m - 1, d)).getUTCDay()];
}

function whenText(iso) {
  return `${dayOf(iso).slice(5).replace("-", "/")} ${dayLabel(dayOf(iso))} ${hhmm(iso)}`;
}

function serviceByCode(code) {
  return (state.catalog?.services || []).find((s) => s.code === code);
}

function serviceName(value) {
  if (value && typeof value === "object" && !("zh-CN" in value) && !("en" in value)) {
    return pick(serviceByCode(value.code)?.name) || pick(value.name) || value.code || "";
  }
  return pick(serviceByCode(value)?.name) || pick(value);
}

function stylistName(id) {
  if (!id || id === "any") return t("stylist.any");
  return (state.catalog?.stylists || []).find((s) => s.id === id)?.name || id;
}

function price(p) {
  if (!p || p.amount === undefined) return "";
  const symbol = { CNY: "¥", GBP: "£", USD: "$" }[p.currency] ?? `${p.currency} `;
  const amount = Number(p.amount);
  return `${symbol}${Number.isInteger(amount) ? amount : Number.isFinite(amount) ? amount.toFixed(2) : p.amount}`;
}

function storePhone() {
  return state.catalog?.store?.phone || "";
}

function phoneLink(phone) {
  return h("a", { href: `tel:${phone}`, class: "phone", testid: "store-phone" }, phone);
}

function screen(title, onBack, ...body) {
  const view = h("section", { class: "screen", testid: `screen-${state.view}` },
    h("div", { class: "screen-head" },
      onBack ? h("button", { type: "button", class: "ghost back", testid: "back", onclick: onBack }, "‹ ", t("back")) : null,
      h("h2", {}, title)),
    body);
  main.replaceChildren(view);
  window.scrollTo(0, 0);
  return view;
}

function go(view) {
  state.view = view;
  render();
}

// ---------- the flow ----------

function renderService() {
  const services = state.catalog.services || [];
  screen(t("step.service"), null,
    h("ul", { class: "choices" }, services.map((s) =>
      h("li", {}, h("button", {
        type: "button", class: "choice", testid: `service-${s.code}`,
        onclick: () => {
          state.service = s;
          state.stylist = "any";
          go("stylist");
        },
      },
      h("span", { class: "choice-main" }, pick(s.name)),
      h("span", { class: "choice-side" }, t("service.minutes", { n: s.minutes }), price(s.price) ? ` · ${price(s.price)}` : ""))))));
}

function renderStylist() {
  const able = (state.catalog.stylists || []).filter((s) => !s.services || s.services.includes(state.service.code));
  const choose = (id) => {
    state.stylist = id;
    state.day = null;
    loadSlots().catch(reportError);
  };
  screen(t("step.stylist"), () => go("service"),
    h("p", { class: "muted" }, pick(state.service.name)),
    h("ul", { class: "choices" },
      h("li", {}, h("button", { type: "button", class: "choice", testid: "stylist-any", onclick: () => choose("any") },
        h("span", { class: "choice-main" }, t("stylist.any")), h("span", { class: "choice-side" }, t("stylist.any_hint")))),
      able.map((s) => h("li", {}, h("button", { type: "button", class: "choice", testid: `stylist-${s.id}`, onclick: () => choose(s.id) },
        h("span", { class: "choice-main" }, s.name))))));
}

async function loadSlots() {
  const answer = await api.availability(state.service.code, state.stylist, storeToday(), DAYS);
  state.slots = answer.slots || [];
  state.day = state.day || state.slots.map((s) => dayOf(s.start)).sort()[0] || storeToday();
  state.waitlistJoined = null;
  go("when");
}

// Day chips for the next 14 days and, under them, the chosen day's times by part of day.
function dayPicker(slots, chosen, onDay) {
  const today = storeToday();
  const days = Array.from({ length: DAYS }, (_, i) => addDays(today, i));
  return h("div", { class: "days", role: "list" }, days.map((day) => {
    const n = new Set(slots.filter((s) => dayOf(s.start) === day).map((s) => s.start)).size;
    return h("button", {
      type: "button", class: `day${n ? "" : " full"}`, role: "listitem", testid: `day-${day}`,
      "aria-pressed": day === chosen ? "true" : "false", onclick: () => onDay(day),
    },
    h("span", { class: "day-name" }, dayLabel(day)),
    h("span", { class: "day-date" }, day.slice(5).replace("-", "/")),
    h("span", { class: "day-count" }, n ? t("day.count", { n }) : t("day.full")));
  }));
}

function timePicker(slots, day, onTime) {
  // One button per start (with "any", several stylists may be free at the same time: the store picks).
  const seen = new Map();
  for (const s of slots.filter((s) => dayOf(s.start) === day)) if (!seen.has(s.start)) seen.set(s.start, s);
  const starts = [...seen.values()].sort((a, b) => (a.start < b.start ? -1 : 1));
  if (!starts.length) return null;
  return ["morning", "afternoon", "evening"].map((part) => {
    const here = starts.filter((s) => partOfDay(s.start) === part);
    if (!here.length) return null;
    return h("div", { class: "part" },
      h("h3", {}, t(`time.${part}`)),
      h("div", { class: "times" }, here.map((s) =>
        h("button", { type: "button", class: "time", testid: `time-${hhmm(s.start).replace(":", "")}`, onclick: () => onTime(s) },
          hhmm(s.start)))));
  });
}

function renderWhen() {
  const times = timePicker(state.slots, state.day, (slot) => {
    state.slot = slot;
    state.key = newKey();
    state.alternatives = null;
    state.notice = null;
    proceedToConfirm();
  });
  screen(t("step.day"), () => go("stylist"),
    h("p", { class: "muted" }, pick(state.service.name), " · ", stylistName(state.stylist)),
    dayPicker(state.slots, state.day, (day) => {
      state.day = day;
      state.waitlistJoined = null;
      render();
    }),
    h("h2", { class: "sub" }, t("step.time")),
    times || waitlistOffer());
}

function waitlistOffer() {
  if (state.waitlistJoined) {
    return h("p", { class: "notice ok", testid: "waitlist-joined" }, state.waitlistJoined);
  }
  let part = "any";
  const chips = h("div", { class: "times", role: "radiogroup", "aria-label": t("waitlist.part") },
    ["morning", "afternoon", "evening", "any"].map((p) => h("button", {
      type: "button", class: "time", testid: `part-${p}`, "aria-pressed": p === part ? "true" : "false",
      onclick: (event) => {
        part = p;
        for (const b of chips.children) b.setAttribute("aria-pressed", b === event.currentTarget ? "true" : "false");
      },
    }, p === "any" ? t("waitlist.any") : t(`time.${p}`))));
  const join = async () => {
    const body = { service: state.service.code, stylist_id: state.stylist, date: state.day, part_of_day: part };
    await api.joinWaitlist(body);
    const partText = part === "any" ? t("waitlist.any") : t(`time.${part}`);
    state.waitlistJoined = t("waitlist.joined", { day: `${state.day.slice(5).replace("-", "/")} ${dayLabel(state.day)}`, part: partText });
    go("when");
  };
  return h("div", { class: "card waitlist", testid: "waitlist-offer" },
    h("p", { class: "muted" }, t("time.none")),
    h("p", {}, t("waitlist.offer")),
    h("p", { class: "label" }, t("waitlist.part")),
    chips,
    h("button", {
      type: "button", class: "primary wide", testid: "waitlist-join",
      onclick: () => whenSignedIn(() => join().catch(reportError), "when"),
    }, t("waitlist.join")));
}

// Run `next` with a full session token, asking for the phone code first when there is none.
function whenSignedIn(next, backTo) {
  if (token() && !limitedTo()) {
    next();
    return;
  }
  state.afterSignIn = next;
  state.signinBack = backTo;
  go("signin");
}

function proceedToConfirm() {
  whenSignedIn(() => go("confirm"), "when");
}

// The country code a number typed without one most likely has: the store's (by its time zone).
function storeCountryCode() {
  const tz = state.catalog?.store?.timezone || "";
  if (tz === "Asia/Shanghai" || tz === "Asia/Chongqing" || tz === "Asia/Urumqi") return "86";
  if (tz === "Europe/London") return "44";
  if (tz.startsWith("America/")) return "1";
  return null;
}

// What she typed, as the API wants it (E.164, +8613800138000): a number without its country code gets the store's
// (without the leading 0 a national number may have).
function normalPhone(raw) {
  const digits = raw.replace(/[\s\-().]/g, "");
  if (digits.startsWith("+")) return digits;
  if (digits.startsWith("00")) return "+" + digits.slice(2);
  const cc = storeCountryCode();
  return cc && /^\d{6,14}$/.test(digits) ? `+${cc}${digits.replace(/^0/, "")}` : digits;
}

function renderSignIn() {
  const error = h("p", { class: "form-error", role: "alert", testid: "signin-error" });
  const cc = storeCountryCode();
  const phone = h("input", { id: "phone", type: "tel", inputmode: "tel", autocomplete: "tel", required: true, testid: "phone-input", placeholder: cc ? `+${cc}` : "+" });
  const code = h("input", { id: "code", type: "text", inputmode: "numeric", autocomplete: "one-time-code", maxlength: 6, pattern: "[0-9]{6}", testid: "code-input" });
  const codeBox = h("div", { class: "field", hidden: true },
    h("p", { class: "muted small", testid: "code-sent" }),
    h("label", { for: "code" }, t("signin.code")), code,
    h("button", { type: "submit", class: "primary wide", testid: "verify" }, t("signin.verify")));
  const send = h("button", { type: "button", class: "secondary wide", testid: "send-code" }, t("signin.send"));
  let sentTo = null;
  send.addEventListener("click", async () => {
    error.textContent = "";
    const number = normalPhone(phone.value);
    if (!/^\+?\d{6,16}$/.test(number)) {
      error.textContent = t("signin.bad_phone");
      return;
    }
    send.disabled = true;
    try {
      await api.sendCode(number);
      sentTo = number;
      codeBox.hidden = false;
      codeBox.querySelector("[data-testid=code-sent]").textContent = t("signin.sent", { phone: number });
      code.focus();
    } catch (err) {
      error.textContent = err.status === 429 ? t("signin.too_many") : err.status === 400 ? t("signin.bad_phone") : t("error.generic");
    } finally {
      send.disabled = false;
    }
  });
  const form = h("form", { class: "card", testid: "signin-form", novalidate: true },
    h("p", {}, t("signin.lead")),
    h("div", { class: "field" }, h("label", { for: "phone" }, t("signin.phone")), phone, send),
    codeBox, error);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    try {
      const session = await api.verify(sentTo, code.value.trim());
      setToken(session.member_token);
      const next = state.afterSignIn;
      state.afterSignIn = null;
      if (next) next();
      else go("mine");
    } catch (err) {
      error.textContent = err.status === 429 ? t("signin.too_many") : err.status === 400 || err.status === 401 ? t("signin.bad_code") : t("error.generic");
    }
  });
  const wechat = inWeChat()
    ? [h("button", { type: "button", class: "wechat wide", testid: "wechat-signin", onclick: () => wechatSignIn().catch(reportError) }, t("signin.wechat")),
      h("p", { class: "muted small center-text" }, t("signin.or"))]
    : null;
  const back = state.signinBack;
  screen(t("step.signin"), back ? () => go(back) : null, wechat, form);
}

// WeChat: the store's Official Account asks for her openid (snsapi_base) and sends her back to this page with
// #token=…; the slot she picked waits in sessionStorage meanwhile.
async function wechatSignIn() {
  if (state.slot && state.service) {
    sessionStorage.setItem(PENDING_KEY, JSON.stringify({ service: state.service.code, stylist: state.stylist, slot: state.slot }));
  }
  const answer = await api.wechatUrl();
  location.href = answer.url;
}

function summary(rows) {
  return h("dl", { class: "summary" }, rows.filter(Boolean).map(([k, v, id]) => [h("dt", {}, k), h("dd", id ? { testid: id } : {}, v)]));
}

function renderConfirm() {
  const s = state.slot;
  const notes = h("textarea", { id: "notes", rows: 2, maxlength: 500, testid: "notes" });
  const alternatives = state.alternatives
    ? h("div", { class: "card notice warn", testid: "alternatives" },
      h("p", {}, state.alternatives.length ? t("confirm.taken") : t("confirm.taken_none")),
      h("div", { class: "times" }, state.alternatives.map((a, i) => h("button", {
        type: "button", class: "time wide-time", testid: `alternative-${i}`,
        onclick: () => {
          state.slot = a;
          state.key = newKey();
          state.alternatives = null;
          render();
        },
      }, whenText(a.start), a.stylist_name ? ` · ${a.stylist_name}` : ""))))
    : null;
  const submit = h("button", { type: "button", class: "primary wide", testid: "confirm" }, t("confirm.submit"));
  submit.addEventListener("click", async () => {
    submit.disabled = true;
    try {
      const body = { service: state.service.code, stylist_id: state.stylist === "any" ? "any" : s.stylist_id, start: s.start, idempotency_key: state.key };
      if (notes.value.trim()) body.notes = notes.value.trim();
      state.booked = await api.book(body);
      go("done");
    } catch (err) {
      submit.disabled = false;
      if (err.status === 409 && err.body.error === "slot_taken") {
        state.alternatives = err.body.alternatives || [];
        render();
      } else if (err.status === 409 && err.body.error === "booking_managed_elsewhere") {
        state.notice = t("confirm.managed", { phone: storePhone() });
        render();
      } else if (err.status === 401) {
        whenSignedIn(() => go("confirm"), "when");
      } else reportError(err);
    }
  });
  screen(t("step.confirm"), () => go("when"),
    alternatives,
    state.notice ? h("p", { class: "notice warn", testid: "notice" }, state.notice) : null,
    h("div", { class: "card" }, summary([
      [t("confirm.service"), pick(state.service.name)],
      [t("confirm.stylist"), state.stylist === "any" ? t("stylist.any") : (s.stylist_name || stylistName(s.stylist_id))],
      [t("confirm.time"), whenText(s.start), "confirm-time"],
      [t("confirm.store"), state.catalog.store.name],
    ])),
    h("div", { class: "field" }, h("label", { for: "notes" }, t("confirm.notes")), notes),
    submit);
}

function bookingCard(b, extra = []) {
  const stylist = b.stylist && typeof b.stylist === "object" ? b.stylist.name || stylistName(b.stylist.id) : stylistName(b.stylist);
  return h("div", { class: "card booking", testid: `booking-${b.booking_id}` },
    h("div", { class: "booking-head" },
      h("strong", { class: "booking-when", testid: "booking-when" }, whenText(b.start)),
      b.status ? h("span", { class: `badge ${b.status}`, testid: "booking-status" }, t(`status.${b.status}`)) : null),
    h("p", {}, serviceName(b.service), stylist ? ` · ${stylist}` : ""),
    extra);
}

function renderDone() {
  const b = state.booked;
  screen(t("done.title"), null,
    h("div", { testid: "done" },
      h("p", { class: "lead" }, state.claimDone ? t("claim.done") : t("done.lead")),
      bookingCard(b),
      h("p", { class: "muted small" }, state.catalog.store.address || ""),
      subscribeOffer(),
      h("button", { type: "button", class: "primary wide", testid: "go-mine", onclick: () => go("mine") }, t("done.mine")),
      h("button", { type: "button", class: "ghost wide", testid: "book-again", onclick: () => go("service") }, t("done.again"))));
  state.claimDone = false;
}

// Inside WeChat: WeChat's own button to allow the visit's follow-ups by WeChat (wechat.js); empty elsewhere.
function subscribeOffer() {
  if (!inWeChat()) return null;
  const slot = h("div", { class: "center-text", testid: "wechat-subscribe-box" });
  const box = h("div", { class: "card" }, h("h3", {}, t("subscribe.title")), h("p", { class: "muted small" }, t("subscribe.hint")), slot);
  offerSubscribe(slot, t("subscribe.button"), () => box.remove());
  return box;
}

// ---------- my bookings ----------

// Her own choice of channel (issue 15): the store tries it first wherever it can carry the message.
function channelChoice(current) {
  const select = h("select", {
    id: "my-channel", testid: "my-channel",
    onchange: async () => {
      try {
        await api.setMyChannel(select.value || null);
        toast(t("channel.saved"));
      } catch (err) {
        reportError(err);
      }
    },
  }, ["", ...current.choices].map((choice) => h("option", {
    value: choice, selected: (current.preferred_channel || "") === choice,
  }, t(`channel.${choice || "default"}`))));
  return [h("h3", {}, h("label", { for: "my-channel" }, t("channel.title"))), h("p", { class: "muted" }, t("channel.hint")), select];
}

async function renderMine() {
  if (!token()) {
    state.signinBack = null;
    state.afterSignIn = () => go("mine");
    screen(t("mine.title"), null, h("p", { class: "muted" }, t("mine.signin")), signInButton());
    return;
  }
  const view = screen(t("mine.title"), null, h("p", { class: "muted" }, t("loading")));
  const [bookings, waitlist, channel] = await Promise.all([
    api.myBookings(),
    limitedTo() ? Promise.resolve({ items: [] }) : api.myWaitlist().catch(() => ({ items: [] })),
    limitedTo() ? Promise.resolve(null) : api.myChannel().catch(() => null),
  ]);
  if (state.view !== "mine" || !view.isConnected) return;
  const now = Date.now();
  const items = bookings.items || [];
  const upcoming = items.filter((b) => new Date(b.start).getTime() >= now && b.status !== "cancelled")
    .sort((a, b) => (a.start < b.start ? -1 : 1));
  const past = items.filter((b) => !upcoming.includes(b));
  const body = [];
  if (state.focus) {
    const focused = items.find((b) => b.booking_id === state.focus);
    if (focused) body.push(h("p", { class: "label" }, t("mine.focus")), manageCard(focused, true));
  }
  body.push(h("h3", {}, t("mine.upcoming")));
  const rest = upcoming.filter((b) => b.booking_id !== state.focus);
  body.push(rest.length || state.focus ? rest.map((b) => manageCard(b, false)) : h("p", { class: "empty", testid: "mine-empty" }, t("mine.empty")));
  const entries = (waitlist.items || []).filter((w) => !w.status || w.status === "waiting" || w.status === "offered");
  if (entries.length) {
    body.push(h("h3", {}, t("waitlist.mine")), entries.map(waitlistCard));
  }
  if (past.length) body.push(h("h3", {}, t("mine.past")), past.map((b) => bookingCard(b)));
  if (channel) body.push(channelChoice(channel));
  body.push(subscribeOffer());
  body.push(h("button", {
    type: "button", class: "ghost wide", testid: "sign-out",
    onclick: () => {
      setToken(null);
      state.focus = null;
      go("service");
    },
  }, t("signin.out")));
  view.replaceChildren(view.firstChild, ...body.flat(Infinity).filter(Boolean));
  if (state.focus) view.querySelector(`[data-testid="booking-${CSS.escape(state.focus)}"]`)?.scrollIntoView({ block: "center" });
}

function signInButton() {
  return h("button", { type: "button", class: "primary wide", testid: "mine-signin", onclick: () => go("signin") }, t("step.signin"));
}

function waitlistCard(w) {
  const part = !w.part_of_day || w.part_of_day === "any" ? t("waitlist.any") : t(`time.${w.part_of_day}`);
  return h("div", { class: "card booking", testid: `waitlist-${w.waitlist_id}` },
    h("div", { class: "booking-head" }, h("strong", {}, `${(w.date || "").slice(5).replace("-", "/")} ${w.date ? dayLabel(w.date) : ""} · ${part}`)),
    h("p", {}, serviceName(w.service), " · ", stylistName(w.stylist_id || w.stylist?.id)),
    w.offer && w.offer.start
      ? h("div", { class: "notice ok" },
        h("p", {}, t("claim.lead"), " ", h("strong", {}, whenText(w.offer.start))),
        h("button", {
          type: "button", class: "primary", testid: `claim-${w.waitlist_id}`,
          onclick: () => {
            state.claim = { id: w.waitlist_id, start: w.offer.start };
            go("claim");
          },
        }, t("claim.submit")))
      : null,
    h("button", {
      type: "button", class: "ghost danger", testid: `leave-${w.waitlist_id}`,
      onclick: async () => {
        try {
          await api.leaveWaitlist(w.waitlist_id);
          toast(t("waitlist.left"));
          render();
        } catch (err) {
          reportError(err);
        }
      },
    }, t("waitlist.leave")));
}

function manageCard(b, focused) {
  const panel = h("div", { class: "manage" });
  const actions = h("div", { class: "row" },
    b.can_reschedule ? h("button", { type: "button", class: "secondary", testid: `reschedule-${b.booking_id}`, onclick: () => openMove(b, panel).catch(reportError) }, t("mine.reschedule")) : null,
    b.can_cancel !== false && ["booked", "confirmed"].includes(b.status)
      ? h("button", { type: "button", class: "ghost danger", testid: `cancel-${b.booking_id}`, onclick: () => askCancel(b, panel) }, t("mine.cancel"))
      : null);
  // Too close to cancel online (the store's cancel_until_minutes): say so at once, with the store's number.
  const late = b.can_cancel === false && ["booked", "confirmed"].includes(b.status)
    ? h("p", { class: "notice warn", testid: "too-late" }, t("mine.too_late"), " ", phoneLink(storePhone()))
    : null;
  const card = bookingCard(b, [actions, late, panel]);
  if (focused) card.classList.add("focus");
  return card;
}

function askCancel(b, panel) {
  const yes = h("button", { type: "button", class: "danger-fill", testid: "cancel-yes" }, t("mine.cancel_yes"));
  yes.addEventListener("click", async () => {
    yes.disabled = true;
    try {
      await api.cancel(b.booking_id);
      toast(t("mine.cancelled"));
      render();
    } catch (err) {
      if (err.status === 409 && err.body.error === "too_late") {
        const phone = err.body.store_phone || storePhone();
        panel.replaceChildren(h("p", { class: "notice warn", testid: "too-late" }, t("mine.too_late"), " ", phoneLink(phone)));
      } else {
        yes.disabled = false;
        reportError(err);
      }
    }
  });
  panel.replaceChildren(h("div", { class: "notice" },
    h("p", {}, t("mine.cancel_ask")),
    h("div", { class: "row" }, yes, h("button", { type: "button", class: "ghost", testid: "cancel-no", onclick: () => panel.replaceChildren() }, t("mine.cancel_no")))));
}

function serviceCodeOf(b) {
  return b.service && typeof b.service === "object" ? b.service.code : b.service;
}

function stylistIdOf(b) {
  return b.stylist && typeof b.stylist === "object" ? b.stylist.id : b.stylist;
}

async function openMove(b, panel) {
  const stylist = stylistIdOf(b) || "any";
  const answer = await api.availability(serviceCodeOf(b), stylist, storeToday(), DAYS);
  const slots = (answer.slots || []).filter((s) => s.start !== b.start);
  let day = dayOf(b.start) >= storeToday() ? dayOf(b.start) : storeToday();
  const move = async (slot) => {
    try {
      const body = { start: slot.start };
      if (slot.stylist_id) body.stylist_id = slot.stylist_id;
      await api.reschedule(b.booking_id, body);
      toast(t("mine.rescheduled", { when: whenText(slot.start) }));
      render();
    } catch (err) {
      if (err.status === 409 && err.body.error === "slot_taken") {
        const alternatives = err.body.alternatives || [];
        panel.replaceChildren(h("div", { class: "notice warn", testid: "alternatives" },
          h("p", {}, alternatives.length ? t("confirm.taken") : t("confirm.taken_none")),
          h("div", { class: "times" }, alternatives.map((a, i) => h("button", { type: "button", class: "time wide-time", testid: `alternative-${i}`, onclick: () => move(a) }, whenText(a.start))))));
      } else reportError(err);
    }
  };
  const paint = () => panel.replaceChildren(
    h("p", { class: "label" }, t("mine.pick_new")),
    dayPicker(slots, day, (d) => {
      day = d;
      paint();
    }),
    h("div", {}, timePicker(slots, day, move) || h("p", { class: "muted" }, t("time.none"))));
  paint();
}

// ---------- a claim link ----------

function renderClaim() {
  const c = state.claim;
  const submit = h("button", { type: "button", class: "primary wide", testid: "claim-submit" }, t("claim.submit"));
  const out = h("div", {});
  submit.addEventListener("click", async () => {
    submit.disabled = true;
    try {
      state.booked = await api.claim(c.id, c.start);
      state.claim = null;
      state.claimDone = true;
      go("done");
    } catch (err) {
      if (err.status === 409) {
        out.replaceChildren(h("p", { class: "notice warn", testid: "claim-gone" }, t("claim.gone")),
          h("button", { type: "button", class: "secondary wide", onclick: () => { state.claim = null; go("service"); } }, t("tab.book")));
      } else {
        submit.disabled = false;
        reportError(err);
      }
    }
  });
  const what = h("p", { testid: "claim-what" });
  screen(t("claim.title"), null,
    h("div", { class: "card", testid: "claim" },
      h("p", {}, t("claim.lead")),
      h("p", { class: "big", testid: "claim-time" }, whenText(c.start)),
      what),
    token() ? submit : signInButton(),
    out);
  if (!token()) {
    state.afterSignIn = () => go("claim");
    return;
  }
  // What she waits for (service, and the stylist the freed time is with), from her waitlist.
  api.myWaitlist().then((answer) => {
    const entry = (answer.items || []).find((w) => w.waitlist_id === c.id);
    if (entry) what.textContent = `${serviceName(entry.service)} · ${stylistName(entry.offer?.stylist_id || entry.stylist_id)}`;
  }).catch(() => {});
}

// ---------- the shell ----------

function renderExternal() {
  document.getElementById("tabs").hidden = true;
  main.replaceChildren(h("section", { class: "screen" },
    h("div", { class: "card notice", testid: "external" },
      h("p", {}, t("store.external")),
      storePhone() ? h("p", { class: "big" }, phoneLink(storePhone())) : null)));
}

function renderTabs() {
  const tabs = document.getElementById("tabs");
  tabs.hidden = false;
  const mine = state.view === "mine";
  const book = document.getElementById("tab-book");
  const mineTab = document.getElementById("tab-mine");
  book.textContent = t("tab.book");
  mineTab.textContent = t("tab.mine");
  book.setAttribute("aria-pressed", mine ? "false" : "true");
  mineTab.setAttribute("aria-pressed", mine ? "true" : "false");
}

function render() {
  document.getElementById("lang-toggle").textContent = t("lang");
  document.title = `${t("title")} · ${state.catalog ? state.catalog.store.name : ""}`;
  if (!state.catalog) return;
  if (state.catalog.store.booking_mode === "external") {
    renderExternal();
    return;
  }
  renderTabs();
  const views = {
    service: renderService,
    stylist: renderStylist,
    when: renderWhen,
    signin: renderSignIn,
    confirm: renderConfirm,
    done: renderDone,
    mine: renderMine,
    claim: renderClaim,
  };
  Promise.resolve((views[state.view] || renderService)()).catch(reportError);
}

// The links from messages and from the WeChat sign-in carry their token in the fragment (never sent to a server).
function readFragment() {
  if (!location.hash || location.hash.length < 2) return;
  const params = new URLSearchParams(location.hash.slice(1));
  history.replaceState(null, "", location.pathname + location.search);
  if (params.get("token")) adoptToken(params.get("token"));
  if (params.get("booking")) {
    state.focus = params.get("booking");
    state.view = "mine";
  } else if (params.get("claim") && params.get("start")) {
    state.claim = { id: params.get("claim"), start: params.get("start") };
    state.view = "claim";
  }
}

// Back from a WeChat sign-in with a slot picked before it: straight to the confirmation.
function resumePending() {
  const raw = sessionStorage.getItem(PENDING_KEY);
  sessionStorage.removeItem(PENDING_KEY);
  if (!raw || !token() || state.view !== "service") return;
  try {
    const p = JSON.parse(raw);
    const service = serviceByCode(p.service);
    if (!service || !p.slot) return;
    Object.assign(state, { service, stylist: p.stylist, slot: p.slot, day: dayOf(p.slot.start), key: newKey(), view: "confirm" });
  } catch {
    // a stale or foreign value: start over
  }
}

async function start() {
  const saved = localStorage.getItem(LOCALE_KEY);
  setLocale(saved || ((navigator.language || "").toLowerCase().startsWith("zh") ? "zh-CN" : "en"));
  document.getElementById("lang-toggle").addEventListener("click", () => {
    setLocale(locale() === "zh-CN" ? "en" : "zh-CN");
    localStorage.setItem(LOCALE_KEY, locale());
    render();
  });
  document.getElementById("tab-book").addEventListener("click", () => {
    state.focus = null;
    go(state.view === "mine" ? "service" : state.view);
  });
  document.getElementById("tab-mine").addEventListener("click", () => go("mine"));
  readFragment();
  // A link opened while the page is open (same page, new fragment) is not a new page load.
  window.addEventListener("hashchange", () => {
    readFragment();
    if (state.catalog) render();
  });
  document.getElementById("loading").textContent = t("loading");
  try {
    state.catalog = await api.catalog();
  } catch (err) {
    main.replaceChildren(h("p", { class: "notice warn", testid: "store-missing" }, err.status === 404 ? t("store.missing") : t("error.generic")));
    return;
  }
  document.getElementById("store-name").textContent = state.catalog.store.name;
  document.getElementById("store-address").textContent = state.catalog.store.address || "";
  resumePending();
  render();
}

start();
