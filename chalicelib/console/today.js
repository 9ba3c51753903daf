// Today: the day's bookings per stylist and the day's waitlist; and one booking's timeline (what was sent, what is
// still planned).
import { get, post } from "./api.js";
import { clear, dayAndTime, h, hhmm, toast } from "./dom.js";
import { label, t } from "./i18n.js";
import { bookingForm, cancelForm, moveForm } from "./booking.js";
import { canDo, poll, reportError } from "./session.js";

const TICKS = { queued: "○", sent: "✓", delivered: "✓✓", read: "✓✓", failed: "!" };

export async function renderToday(main, session, date, member) {
  const screen = session.screen;
  const base = `/v1/stores/${encodeURIComponent(session.store)}/bookings`;
  const dateInput = h("input", { type: "date", id: "today-date", dataset: { testid: "today-date" } });
  const count = h("span", { class: "muted" });
  const board = h("div", { class: "board", dataset: { testid: "today-board" } });
  const waiting = h("section", { class: "card waitlist", "aria-labelledby": "waitlist-title", dataset: { testid: "waitlist" } });
  const formSlot = h("div", { class: "form-slot" });
  const newBooking = canDo("book")
    ? h("button", { type: "button", class: "primary", "aria-expanded": "false", dataset: { testid: "new-booking" }, onclick: () => openForm().catch(reportError) }, t("book.new"))
    : null;
  clear(main, h("section", { class: "page", "aria-labelledby": "today-title" },
    h("div", { class: "page-head" },
      h("h1", { id: "today-title" }, t("today.title")),
      h("div", { class: "row" }, h("label", { for: "today-date" }, t("today.date")), dateInput, count, newBooking)),
    formSlot, board, canDo("waitlist") ? waiting : null));

  // A booking for a member (front desk and up), opened from here or prefilled from her profile (#/book/{member}).
  async function openForm(prefill) {
    if (formSlot.firstChild) return closeForm();
    newBooking.setAttribute("aria-expanded", "true");
    const form = await bookingForm({
      store: session.store,
      day: dateInput.value || date || new Date().toISOString().slice(0, 10),
      member: prefill,
      onClose: closeForm,
      onTaken: () => {
        last = "";
        refresh().catch(reportError);
      },
      onDone: (booked) => {
        toast(t("book.done", { when: dayAndTime(booked.start) }));
        closeForm();
        const day = booked.start.slice(0, 10);
        if (day !== dateInput.value) location.hash = `#/today/${day}`;
        else {
          last = "";
          refresh().catch(reportError);
        }
      },
    });
    clear(formSlot, form);
  }
  function closeForm() {
    clear(formSlot);
    newBooking?.setAttribute("aria-expanded", "false");
  }
  dateInput.addEventListener("change", () => {
    if (dateInput.value) location.hash = `#/today/${dateInput.value}`;
  });

  let last = "";
  async function refresh() {
    const day = await get(`${base}${date ? `?date=${date}` : ""}`);
    if (canDo("waitlist")) await renderWaitlist(waiting, session, day.date);
    const signature = JSON.stringify(day);
    if (signature === last) return;
    last = signature;
    dateInput.value = day.date;
    count.textContent = t("today.count", { n: day.count });
    clear(board, day.stylists.map((s) => h("section", { class: "stylist card", "aria-label": s.name, dataset: { testid: `stylist-${s.id}` } },
      h("h2", {}, s.name || s.id, h("span", { class: "muted small" }, ` · ${s.bookings.length}`)),
      s.bookings.length ? h("ul", { class: "bookings" }, s.bookings.map(bookingRow)) : h("p", { class: "muted" }, t("today.empty")))));
  }

  function bookingRow(b) {
    const markable = canDo("mark") && ["booked", "confirmed"].includes(b.status);
    return h("li", { class: `booking status-${b.status}`, dataset: { testid: `booking-${b.id}`, status: b.status } },
      h("div", { class: "booking-time" }, h("time", { datetime: b.start }, hhmm(b.start)), h("span", { class: "muted small" }, `${b.duration_minutes}′`)),
      h("div", { class: "booking-main" },
        h("strong", {}, b.member.name || b.member.id),
        h("span", { class: "muted" }, b.service.name),
        h("span", { class: `badge status ${b.status}`, dataset: { testid: "booking-status" } }, t(`booking.${b.status}`))),
      h("div", { class: "booking-actions" },
        markable ? h("button", { type: "button", class: "secondary", dataset: { testid: "checkin" }, onclick: () => mark(b, "checked_in") }, t("today.checkin")) : null,
        markable ? h("button", { type: "button", class: "ghost danger", dataset: { testid: "noshow" }, onclick: () => mark(b, "no_show") }, t("today.noshow")) : null,
        h("a", { class: "link", href: `#/booking/${encodeURIComponent(b.id)}`, dataset: { testid: "timeline-link" } }, t("today.timeline"))));
  }

  async function mark(booking, status) {
    try {
      await post(`${base}/${encodeURIComponent(booking.id)}/status`, { status });
      toast(t("today.marked", { status: t(`booking.${status}`) }));
      last = "";
      await refresh();
    } catch (err) {
      reportError(err);
    }
  }

  await refresh();
  if (member && newBooking) await openForm(member);
  poll(refresh, 10000, screen);
}

// The day's waitlist (front desk and up), in waiting order: who waits for what, and any pending offer.
async function renderWaitlist(section, session, date) {
  const list = await get(`/v1/stores/${encodeURIComponent(session.store)}/waitlist?date=${date}`);
  const signature = JSON.stringify(list);
  if (section.dataset.signature === signature) return;
  section.dataset.signature = signature;
  const row = (e) => h("li", { class: "waitlist-entry", dataset: { testid: `waitlist-${e.waitlist_id}`, status: e.status } },
    h("span", { class: "muted small" }, `${e.position}.`),
    h("strong", {}, e.member_id),
    h("span", { class: "muted" }, `${e.service_name} · ${t(`waitlist.part.${e.part_of_day}`)}`),
    h("span", { class: `badge status ${e.status}` }, t(`waitlist.status.${e.status}`)),
    e.offer ? h("span", { class: "muted small" }, t("waitlist.offer", { start: hhmm(e.offer.start), until: hhmm(e.offer.expires_at) })) : null);
  clear(section,
    h("h2", { id: "waitlist-title" }, t("waitlist.title"), h("span", { class: "muted small" }, ` · ${list.items.length}`)),
    list.items.length ? h("ol", { class: "bookings" }, list.items.map(row)) : h("p", { class: "muted" }, t("waitlist.empty")));
}

export async function renderTimeline(main, session, bookingId) {
  const base = `/v1/stores/${encodeURIComponent(session.store)}/bookings`;
  const data = await get(`${base}/${encodeURIComponent(bookingId)}`);
  const b = data.booking;
  const panel = h("div", { class: "form-slot" });
  const changeable = canDo("book") && ["booked", "confirmed"].includes(b.status);
  // Move and cancel for the member (front desk and up); then the day the booking is (now) on.
  const done = (message) => (answer) => {
    toast(t(message, { when: dayAndTime(answer.start || b.start) }));
    location.hash = `#/today/${(answer.start || b.start).slice(0, 10)}`;
  };
  const open = async (make) => {
    try {
      clear(panel, await make({ store: session.store, booking: b, onClose: () => clear(panel), onDone: done(make === moveForm ? "move.done" : "cancel.done") }));
    } catch (err) {
      reportError(err);
    }
  };
  const actions = changeable
    ? h("div", { class: "row booking-actions" },
      h("button", { type: "button", class: "secondary", dataset: { testid: "move" }, onclick: () => open(moveForm) }, t("move.open")),
      h("button", { type: "button", class: "ghost danger", dataset: { testid: "cancel" }, onclick: () => open(cancelForm) }, t("cancel.open")))
    : null;
  const step = (kind, when, channel, status, testid) => h("li", { class: "step", dataset: { testid } },
    h("span", { class: `dot ${status || "planned"}`, "aria-hidden": "true" }),
    h("div", {},
      h("strong", {}, label("kind", kind)),
      h("span", { class: "muted" }, ` · ${dayAndTime(when)}${channel ? ` · ${channel}` : ""}`),
      status ? h("span", { class: `tick ${status}`, title: t(`tick.${status}`) }, ` ${TICKS[status] || ""} ${t(`tick.${status}`)}`) : null));
  clear(main, h("section", { class: "page narrow", "aria-labelledby": "timeline-title" },
    h("a", { href: "#/today", class: "back" }, "‹ ", t("timeline.back")),
    h("div", { class: "card" },
      h("h1", { id: "timeline-title" }, t("timeline.title")),
      h("p", { class: "booking-summary" },
        h("strong", {}, b.member.name || b.member.id), ` · ${b.service.name} · ${b.stylist.name} · ${dayAndTime(b.start)} `,
        h("span", { class: `badge status ${b.status}`, dataset: { testid: "timeline-status" } }, t(`booking.${b.status}`))),
      actions, panel,
      h("div", { class: "timeline" },
        h("section", { "aria-labelledby": "sent-title" }, h("h2", { id: "sent-title" }, t("timeline.sent")),
          data.sent.length ? h("ol", { class: "steps", dataset: { testid: "timeline-sent" } }, data.sent.map((m) => step(m.kind, m.created_at, m.channel, m.status, `sent-${m.kind}`)))
            : h("p", { class: "muted" }, t("timeline.nothing_sent"))),
        h("section", { "aria-labelledby": "planned-title" }, h("h2", { id: "planned-title" }, t("timeline.planned")),
          data.planned.length ? h("ol", { class: "steps", dataset: { testid: "timeline-planned" } }, data.planned.map((p) => step(p.kind, p.due_at, p.channel, null, `planned-${p.kind}`)))
            : h("p", { class: "muted" }, t("timeline.nothing_planned")))))));
}
