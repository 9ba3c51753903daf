// Staff book, move and cancel for a member (front desk and up): the same API and service a member books through,
// with the staff token. Times are picked from the store's availability (shown 24-hour, in the store's zone).
import { ApiError, get, post } from "./api.js";
import { clear, dayAndTime, h, hhmm } from "./dom.js";
import { locale, t } from "./i18n.js";
import { reportError } from "./session.js";

const CATALOG = new Map(); // store -> its catalogue, read once per page

async function catalog(store) {
  if (!CATALOG.has(store)) CATALOG.set(store, await get(`/v1/stores/${encodeURIComponent(store)}/catalog`));
  return CATALOG.get(store);
}

// A catalogue name may be one text or one per locale.
function pick(name) {
  if (!name || typeof name !== "object") return name || "";
  return name[locale()] || name.en || name["zh-CN"] || Object.values(name)[0] || "";
}

function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return "console-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// Which form field an API error's `fields` key belongs to.
const FIELD_OF = { member_id: "member", service: "service", stylist_id: "stylist", stylist: "stylist", start: "time", from: "day", date: "day", notes: "notes", reason: "reason" };

// A form's error lines: one per field (under it) and one for the whole form.
function errors(names) {
  const lines = Object.fromEntries(names.concat("form").map((n) => [n, h("p", { class: "form-error", role: "alert", dataset: { testid: `err-${n}` } })]));
  return {
    lines,
    clear: () => Object.values(lines).forEach((l) => { l.textContent = ""; }),
    show(err) {
      const fields = err instanceof ApiError && err.body && err.body.fields;
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) return reportError(err);
      if (fields && Object.keys(fields).length) {
        for (const [key, message] of Object.entries(fields)) {
          const line = lines[FIELD_OF[key]] || lines.form;
          line.textContent = FIELD_OF[key] ? String(message) : `${key}: ${message}`;
        }
      } else lines.form.textContent = err instanceof ApiError ? err.message : t("err.generic", { message: err.message });
    },
  };
}

function field(id, text, control, error) {
  return h("div", { class: "field" }, h("label", { for: id }, text), control, error);
}

// The open times of one day for a service and a stylist (or "any"): buttons; `onPick(slot)` on a click.
function slotPicker(store, onPick) {
  const box = h("div", { class: "times", role: "group", dataset: { testid: "slots" } });
  let selected = null;
  let asking = 0;
  const show = (slots, note) => {
    clear(box, slots.length ? slots.map((s) => h("button", {
      type: "button", class: "chip time", "aria-pressed": "false", dataset: { testid: `slot-${hhmm(s.start).replace(":", "")}`, start: s.start, stylist: s.stylist_id },
      onclick: (event) => {
        box.querySelectorAll("button").forEach((b) => b.setAttribute("aria-pressed", "false"));
        event.currentTarget.setAttribute("aria-pressed", "true");
        selected = s;
        onPick(s);
      },
    }, hhmm(s.start), s.stylist_name ? h("span", { class: "muted small" }, ` · ${s.stylist_name}`) : null))
      : h("p", { class: "muted" }, note || t("book.no_times")));
  };
  return {
    box,
    selected: () => selected,
    show,
    reset() {
      asking += 1;
      selected = null;
      clear(box);
    },
    async load(service, stylist, day) {
      const asked = ++asking; // only the last question's answer is shown (answers may come back out of order)
      selected = null;
      box.dataset.for = "";
      clear(box, h("p", { class: "muted" }, t("common.loading")));
      const q = new URLSearchParams({ service, stylist: stylist || "any", from: day, days: "1" });
      const answer = await get(`/v1/stores/${encodeURIComponent(store)}/availability?${q}`);
      if (asked !== asking) return;
      show(answer.slots.filter((s) => s.start.slice(0, 10) === day));
      box.dataset.for = `${service} ${stylist || "any"} ${day}`;
    },
  };
}

function stylistOptions(cat, service, current) {
  const able = (cat.stylists || []).filter((s) => !s.services || s.services.includes(service));
  return [h("option", { value: "any", selected: current === "any" }, t("book.any_stylist"))]
    .concat(able.map((s) => h("option", { value: s.id, selected: s.id === current }, s.name || s.id)));
}

// "New booking": member, service, stylist or any, a day and an open time; on 409 the nearest open times.
export async function bookingForm({ store, day, member, onDone, onClose, onTaken }) {
  const cat = await catalog(store);
  const err = errors(["member", "service", "stylist", "day", "time", "notes"]);
  const memberInput = h("input", { id: "book-member", required: true, autocomplete: "off", value: member || "", dataset: { testid: "book-member" } });
  const serviceSelect = h("select", { id: "book-service", dataset: { testid: "book-service" } },
    (cat.services || []).map((s) => h("option", { value: s.code }, `${pick(s.name)}${s.minutes ? ` · ${t("book.minutes", { n: s.minutes })}` : ""}`)));
  const stylistSelect = h("select", { id: "book-stylist", dataset: { testid: "book-stylist" } });
  const dayInput = h("input", { type: "date", id: "book-day", value: day, required: true, dataset: { testid: "book-day" } });
  const notes = h("textarea", { id: "book-notes", rows: 2, maxlength: 500, dataset: { testid: "book-notes" } });
  const alternatives = h("div", { class: "alternatives", dataset: { testid: "alternatives" }, hidden: true });
  const submit = h("button", { type: "submit", class: "primary", disabled: true, dataset: { testid: "book-submit" } }, t("book.submit"));
  let key = newKey();
  const slots = slotPicker(store, () => {
    key = newKey();
    submit.disabled = false;
    alternatives.hidden = true;
    err.clear();
  });
  const reload = () => {
    submit.disabled = true;
    err.clear();
    if (!serviceSelect.value || !dayInput.value) return slots.reset();
    return slots.load(serviceSelect.value, stylistSelect.value, dayInput.value).catch((e) => {
      slots.reset();
      err.show(e);
    });
  };
  const fillStylists = () => clear(stylistSelect, stylistOptions(cat, serviceSelect.value, stylistSelect.value || "any"));
  serviceSelect.addEventListener("change", () => {
    fillStylists();
    reload();
  });
  stylistSelect.addEventListener("change", reload);
  dayInput.addEventListener("change", reload);

  const form = h("form", { class: "card booking-form", "aria-labelledby": "book-title", dataset: { testid: "book-form" } },
    h("div", { class: "pane-head" }, h("h2", { id: "book-title" }, t("book.title")),
      h("button", { type: "button", class: "ghost", dataset: { testid: "book-close" }, onclick: onClose }, t("book.close"))),
    h("div", { class: "form-grid" },
      field("book-member", t("book.member"), memberInput, err.lines.member),
      field("book-service", t("book.service"), serviceSelect, err.lines.service),
      field("book-stylist", t("book.stylist"), stylistSelect, err.lines.stylist),
      field("book-day", t("book.day"), dayInput, err.lines.day)),
    h("div", { class: "field" }, h("span", { class: "label" }, t("book.time")), slots.box, err.lines.time),
    alternatives,
    field("book-notes", t("book.notes"), notes, err.lines.notes),
    err.lines.form,
    h("div", { class: "row" }, submit));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const slot = slots.selected();
    if (!slot) return;
    err.clear();
    const body = {
      member_id: memberInput.value.trim(),
      service: serviceSelect.value,
      stylist_id: stylistSelect.value === "any" ? "any" : slot.stylist_id,
      start: slot.start,
      idempotency_key: key,
    };
    if (notes.value.trim()) body.notes = notes.value.trim();
    submit.disabled = true;
    try {
      const booked = await post(`/v1/stores/${encodeURIComponent(store)}/bookings`, body);
      onDone(booked);
    } catch (e) {
      submit.disabled = false;
      if (e instanceof ApiError && e.status === 409 && e.body && e.body.error === "slot_taken") {
        showAlternatives(e.body.alternatives || []);
        reload(); // the open times have changed (and the day too: onTaken refreshes it)
        if (onTaken) onTaken();
      } else err.show(e);
    }
  });

  function showAlternatives(list) {
    alternatives.hidden = false;
    clear(alternatives,
      h("p", { class: "form-error", role: "alert" }, list.length ? t("book.taken") : t("book.taken_none")),
      h("div", { class: "times" }, list.map((a, i) => h("button", {
        type: "button", class: "chip time", dataset: { testid: `alternative-${i}`, start: a.start },
        onclick: () => {
          dayInput.value = a.start.slice(0, 10);
          slots.reset(); // an answer still on its way for the old times must not replace this one
          slots.show([a]);
          slots.box.querySelector("button").click(); // picks it: a new key, Book enabled
          if (stylistSelect.value !== "any") stylistSelect.value = a.stylist_id;
        },
      }, dayAndTime(a.start), a.stylist_name ? ` · ${a.stylist_name}` : ""))));
  }

  fillStylists();
  reload();
  setTimeout(() => (member ? serviceSelect : memberInput).focus(), 0);
  return form;
}

// "Move": a new day and time for the booking's service (same stylist, or any).
export async function moveForm({ store, booking, onDone, onClose }) {
  const cat = await catalog(store);
  const err = errors(["stylist", "day", "time"]);
  const stylistSelect = h("select", { id: "move-stylist", dataset: { testid: "move-stylist" } }, stylistOptions(cat, booking.service.code, booking.stylist.id));
  const dayInput = h("input", { type: "date", id: "move-day", value: booking.start.slice(0, 10), required: true, dataset: { testid: "move-day" } });
  const submit = h("button", { type: "submit", class: "primary", disabled: true, dataset: { testid: "move-submit" } }, t("move.submit"));
  const slots = slotPicker(store, () => {
    submit.disabled = false;
    err.clear();
  });
  const reload = () => {
    submit.disabled = true;
    err.clear();
    if (!dayInput.value) return slots.reset();
    return slots.load(booking.service.code, stylistSelect.value, dayInput.value).catch((e) => {
      slots.reset();
      err.show(e);
    });
  };
  stylistSelect.addEventListener("change", reload);
  dayInput.addEventListener("change", reload);
  const form = h("form", { class: "card booking-form", "aria-labelledby": "move-title", dataset: { testid: "move-form" } },
    h("div", { class: "pane-head" }, h("h2", { id: "move-title" }, t("move.title")),
      h("button", { type: "button", class: "ghost", onclick: onClose }, t("book.close"))),
    h("p", { class: "muted" }, t("move.from", { when: dayAndTime(booking.start) })),
    h("div", { class: "form-grid" },
      field("move-stylist", t("book.stylist"), stylistSelect, err.lines.stylist),
      field("move-day", t("book.day"), dayInput, err.lines.day)),
    h("div", { class: "field" }, h("span", { class: "label" }, t("book.time")), slots.box, err.lines.time),
    err.lines.form,
    h("div", { class: "row" }, submit));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const slot = slots.selected();
    if (!slot) return;
    submit.disabled = true;
    err.clear();
    try {
      const moved = await post(`/v1/stores/${encodeURIComponent(store)}/bookings/${encodeURIComponent(booking.id)}/reschedule`,
        { start: slot.start, stylist_id: slot.stylist_id });
      onDone(moved);
    } catch (e) {
      submit.disabled = false;
      if (e instanceof ApiError && e.status === 409 && e.body && e.body.error === "slot_taken") {
        err.lines.time.textContent = t("book.taken");
        slots.show(e.body.alternatives || [], t("book.taken_none"));
      } else err.show(e);
    }
  });
  reload();
  return form;
}

// "Cancel": an optional reason, then a confirm step.
export function cancelForm({ store, booking, onDone, onClose }) {
  const err = errors(["reason"]);
  const reason = h("textarea", { id: "cancel-reason", rows: 2, maxlength: 500, dataset: { testid: "cancel-reason" } });
  const confirm = h("button", { type: "submit", class: "primary danger-fill", dataset: { testid: "cancel-confirm" } }, t("cancel.confirm"));
  const form = h("form", { class: "card booking-form", "aria-labelledby": "cancel-title", dataset: { testid: "cancel-form" } },
    h("h2", { id: "cancel-title" }, t("cancel.title")),
    h("p", {}, t("cancel.lead", { when: dayAndTime(booking.start), member: booking.member.name || booking.member.id })),
    field("cancel-reason", t("cancel.reason"), reason, err.lines.reason),
    err.lines.form,
    h("div", { class: "row" }, confirm,
      h("button", { type: "button", class: "ghost", dataset: { testid: "cancel-keep" }, onclick: onClose }, t("cancel.keep"))));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    confirm.disabled = true;
    err.clear();
    const body = reason.value.trim() ? { reason: reason.value.trim() } : {};
    try {
      onDone(await post(`/v1/stores/${encodeURIComponent(store)}/bookings/${encodeURIComponent(booking.id)}/cancel`, body));
    } catch (e) {
      confirm.disabled = false;
      err.show(e);
    }
  });
  setTimeout(() => reason.focus(), 0);
  return form;
}
