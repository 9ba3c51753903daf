// Inbox, conversation and the member panel beside it.
import { get, post, put } from "./api.js";
import { clear, dayAndTime, h, hhmm, toast } from "./dom.js";
import { QUICK_REPLIES, label, locale, t } from "./i18n.js";
import { preferencesPanel } from "./preferences.js";
import { canDo, poll, reportError, session as signedIn } from "./session.js";

const FILTERS = ["all", "needs_human", "open", "resolved"];
const TICKS = { queued: "○", sent: "✓", delivered: "✓✓", read: "✓✓", failed: "!" };
// The classifier's intents (chalicelib/understanding INTENTS): what staff may correct a message's reading to.
const INTENTS = ["confirm", "cancel", "reschedule", "book", "question", "aftercare_issue", "complaint", "praise", "opt_out", "other"];
let filter = "all";

export async function renderInbox(main, session, memberId) {
  const screen = session.screen;
  const store = session.store;
  const base = `/v1/stores/${encodeURIComponent(store)}`;
  const list = h("ul", { class: "conv-list", dataset: { testid: "conv-list" } });
  const filters = h("div", { class: "chips", role: "group", "aria-label": t("inbox.title") });
  const presence = h("p", { class: "presence", role: "status", dataset: { testid: "presence" } });
  const listPane = h("section", { class: "pane list-pane", "aria-labelledby": "inbox-title" },
    h("div", { class: "pane-head" }, h("h1", { id: "inbox-title" }, t("inbox.title")), filters, presence), list);
  const convPane = h("section", { class: "pane conv-pane", "aria-label": t("conv.reply") });
  const memberPane = h("aside", { class: "pane member-pane", "aria-labelledby": "member-title" });
  const layout = h("div", { class: "inbox-layout", dataset: { view: memberId ? "conversation" : "list" } },
    listPane, convPane, memberPane);
  clear(main, layout);

  const drawFilters = () => clear(filters, FILTERS.map((f) => h("button", {
    type: "button", class: "chip", "aria-pressed": String(f === filter), dataset: { testid: `filter-${f}` },
    onclick: () => { filter = f; drawFilters(); refreshList().catch(reportError); },
  }, t(`inbox.filter.${f}`))));
  drawFilters();

  let lastList = "";
  async function refreshList() {
    const query = filter === "all" ? "?limit=50" : `?limit=50&status=${filter}`;
    const items = (await get(`${base}/conversations${query}`)).items;
    const signature = JSON.stringify([filter, memberId, items]);
    if (signature === lastList) return;
    lastList = signature;
    clear(list, items.length ? items.map((c) => conversationRow(c, c.id === memberId))
      : h("li", { class: "empty" }, t("inbox.empty")));
  }

  // Who is online (issue 17): one read per store every 30 s, not with every list refresh.
  async function refreshPresence() {
    const staff = (await get(`${base}/staff/presence`)).staff;
    presence.textContent = staff.length
      ? t("presence.online", { names: staff.map((s) => `${s.staff_id} · ${t(`role.${s.role}`)}`).join(", ") })
      : t("presence.nobody");
    presence.dataset.count = String(staff.length);
  }

  await Promise.all([refreshList(), refreshPresence().catch(reportError)]);
  poll(refreshList, 4000, screen);
  poll(refreshPresence, 30000, screen);
  if (!memberId) {
    clear(convPane, h("p", { class: "empty center" }, t("conv.pick")));
    return;
  }
  await Promise.all([
    renderConversation(convPane, base, memberId, () => refreshList(), screen),
    renderMember(memberPane, base, memberId),
  ]);
}

function conversationRow(c, selected) {
  return h("li", {},
    h("a", { href: `#/inbox/${encodeURIComponent(c.id)}`, class: `conv-row ${selected ? "selected" : ""}`,
      "aria-current": selected ? "true" : null, dataset: { testid: `conv-${c.id}`, status: c.status } },
    h("span", { class: "avatar", "aria-hidden": "true" }, (c.member_name || c.id).slice(0, 1)),
    h("span", { class: "conv-main" },
      h("span", { class: "conv-top" },
        h("strong", { class: "conv-name" }, c.member_name || c.id),
        h("time", { datetime: c.last_message_at }, hhmm(c.last_message_at))),
      h("span", { class: "conv-bottom" },
        h("span", { class: "conv-preview" }, c.last_preview),
        c.status === "needs_human" ? h("span", { class: "badge warn" }, t("status.needs_human")) : null,
        c.unread ? h("span", { class: "unread", "aria-label": t("inbox.unread", { n: c.unread }) }, c.unread) : null),
      handOff(c))));
}

// Who has a hand-off and how long she has waited for a person (issue 17).
function handOff(c) {
  if (c.status !== "needs_human" && !c.assignee) return null;
  const waited = c.waiting_since ? Math.max(0, Math.floor((Date.now() - Date.parse(c.waiting_since)) / 60000)) : null;
  return h("span", { class: "hand-off" },
    h("span", { class: "assignee", dataset: { testid: `assignee-${c.id}` } },
      c.assignee ? t("inbox.assignee", { who: c.assignee }) : t("inbox.unassigned")),
    waited === null ? null : h("span", { class: "waited", dataset: { testid: `waited-${c.id}` } }, t("inbox.waited", { n: waited })));
}

async function renderConversation(pane, base, memberId, onChange, screen) {
  const path = `${base}/conversations/${encodeURIComponent(memberId)}`;
  const log = h("ol", { class: "messages", role: "log", "aria-live": "polite", dataset: { testid: "messages" } });
  const title = h("h2", { id: "conv-title" });
  const statusBadge = h("span", { class: "badge" });
  const reason = h("p", { class: "reason" });
  const actions = h("div", { class: "conv-actions" });
  const text = h("textarea", { id: "reply-text", rows: 2, maxlength: 2000, dataset: { testid: "reply-text" } });
  const send = h("button", { type: "submit", class: "primary", dataset: { testid: "reply-send" } }, t("conv.send"));
  const quick = h("div", { class: "chips quick", role: "group", "aria-label": t("conv.quick") },
    (QUICK_REPLIES[locale()] || []).map((q, i) => h("button", {
      type: "button", class: "chip", dataset: { testid: `quick-${i}` },
      onclick: () => { text.value = q; text.focus(); },
    }, q)));
  const composer = h("form", { class: "composer", dataset: { testid: "composer" } },
    quick, h("label", { for: "reply-text", class: "visually-hidden" }, t("conv.reply_label")),
    h("div", { class: "composer-row" }, text, send));
  clear(pane,
    h("div", { class: "pane-head conv-head" },
      h("a", { href: "#/inbox", class: "back" }, "‹ ", t("conv.back")),
      h("div", { class: "conv-title" }, title, statusBadge), actions),
    reason, log, canDo("reply") ? composer : null);

  let conversation = null;
  let lastSignature = "";
  async function refresh() {
    const page = await get(`${path}/messages?order=desc&limit=100`);
    conversation = page.conversation;
    const items = page.items.slice().reverse();
    const signature = JSON.stringify([conversation, items]);
    if (signature === lastSignature) return;
    lastSignature = signature;
    title.textContent = conversation.member_name || conversation.member_id;
    statusBadge.textContent = t(`status.${conversation.status}`);
    statusBadge.className = `badge ${conversation.status === "needs_human" ? "warn" : ""}`;
    statusBadge.dataset.testid = "conv-status";
    reason.textContent = conversation.needs_human_reason ? t("conv.reason", { reason: label("intent", conversation.needs_human_reason) }) : "";
    drawActions();
    clear(log, items.map((m) => messageItem(m, correctIntent)));
    log.scrollTop = log.scrollHeight;
    if (conversation.unread) {
      await post(`${path}/read`);
      onChange();
    }
  }

  function drawActions() {
    const buttons = [h("button", { type: "button", class: "ghost", dataset: { testid: "video" }, onclick: startVideo }, t("conv.video"))];
    if (canDo("status") && conversation.status !== "resolved") {
      buttons.push(h("button", { type: "button", class: "secondary", dataset: { testid: "resolve" }, onclick: () => setStatus("resolved") }, t("conv.resolve")));
    }
    if (conversation.assignee && conversation.assignee === signedIn.staff?.subject) {
      buttons.push(h("button", { type: "button", class: "ghost", dataset: { testid: "release" }, onclick: () => assign("release") }, t("conv.release")));
    } else if (conversation.status === "needs_human" && !conversation.assignee) {
      buttons.push(h("button", { type: "button", class: "secondary", dataset: { testid: "take" }, onclick: () => assign("take") }, t("conv.take")));
    }
    if (canDo("status") && conversation.status === "needs_human") {
      buttons.push(h("button", { type: "button", class: "ghost", dataset: { testid: "handback" }, onclick: () => setStatus("open") }, t("conv.handback")));
    }
    clear(actions, buttons);
  }

  // Issue 17: take or release a hand-off (a conditional write: someone quicker gets it, we get 409).
  async function assign(action) {
    try {
      await post(`${path}/assignment`, { action });
      toast(action === "take" ? t("conv.taken") : t("conv.released"));
    } catch (err) {
      if (err.status === 409) toast(t("conv.taken_by_other"), "error");
      else reportError(err);
    }
    await refresh().catch(reportError);
    onChange();
  }

  async function setStatus(status) {
    try {
      await post(`${path}/status`, { status });
      toast(status === "resolved" ? t("conv.resolved") : t("conv.handed_back"));
      await refresh();
      onChange();
    } catch (err) {
      reportError(err);
    }
  }

  // One click: the message's understood intent is corrected, and kept as a label for retraining (issue 16).
  async function correctIntent(m, intent) {
    try {
      await put(`${base}/members/${encodeURIComponent(memberId)}/messages/${encodeURIComponent(m.id)}/intent`, { intent });
      toast(t("conv.correction_saved", { intent: label("intent", intent) }));
      await refresh();
    } catch (err) {
      reportError(err);
      await refresh();
    }
  }

  async function startVideo() {
    try {
      const answer = await post(`${path}/video`);
      toast(t("conv.video_started", { channel: answer.channel }));
      await refresh();
    } catch (err) {
      reportError(err);
    }
  }

  composer.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = text.value.trim();
    if (!body) return text.focus();
    send.disabled = true;
    try {
      const clientId = `console-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
      const answer = await post(`${path}/messages`, { text: body, client_message_id: clientId });
      text.value = "";
      toast(t("conv.sent", { channel: answer.delivery.channel || "-" }));
      await refresh();
      onChange();
    } catch (err) {
      reportError(err);
    } finally {
      send.disabled = false;
    }
  });
  text.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) composer.requestSubmit();
  });

  await refresh();
  poll(refresh, 3000, screen);
}

function intentTag(m, onCorrect) {
  if (m.direction !== "in" || !m.intent) return null;
  if (!canDo("correct")) {
    return h("span", { class: "msg-intent", dataset: { testid: `intent-${m.id}` } }, `${t("conv.intent")} ${label("intent", m.intent)}`);
  }
  const select = h("select", {
    class: "msg-intent", "aria-label": t("conv.intent_label"), dataset: { testid: `intent-${m.id}`, corrected: String(!!m.intent_corrected) },
    onchange: () => onCorrect(m, select.value),
  }, INTENTS.map((i) => h("option", { value: i, selected: i === m.intent }, label("intent", i))));
  return [select, m.intent_corrected ? h("span", { class: "msg-corrected" }, t("conv.corrected")) : null];
}

function messageItem(m, onCorrect) {
  const mine = m.direction === "out";
  const status = m.status || "sent";
  return h("li", { class: `msg ${mine ? "out" : "in"}`, dataset: { testid: `msg-${m.id}`, kind: m.kind } },
    m.type === "image" && m.media_url
      ? h("img", { src: m.media_url, alt: t("conv.image"), loading: "lazy", class: "msg-image" }) : null,
    m.text ? h("p", { class: "msg-text" }, m.text) : null,
    h("span", { class: "msg-meta" },
      mine && m.kind && m.kind !== "staff_reply" ? h("span", { class: "msg-kind" }, label("kind", m.kind)) : null,
      mine && m.sender ? h("span", {}, t("conv.staff")) : null,
      intentTag(m, onCorrect),
      m.channel ? h("span", {}, m.channel) : null,
      mine && m.route_reason
        ? h("span", { class: "msg-route", title: t("conv.route_reason"), dataset: { testid: "route-reason" } }, label("route", m.route_reason))
        : null,
      h("time", { datetime: m.created_at }, dayAndTime(m.created_at)),
      mine ? h("span", { class: `tick ${status}`, title: t(`tick.${status}`), "aria-label": t(`tick.${status}`) }, TICKS[status] || "") : null,
      mine ? h("span", { class: `msg-status ${status}`, title: m.error || "", dataset: { testid: "msg-status" } }, t(`tick.${status}`)) : null));
}

export async function renderMember(pane, base, memberId) {
  const path = `${base}/members/${encodeURIComponent(memberId)}`;
  let profile;
  try {
    profile = await get(path);
  } catch (err) {
    if (err.status === 404) return clear(pane, h("h2", { id: "member-title" }, t("member.title")), h("p", { class: "muted" }, t("member.none")));
    throw err;
  }
  const none = t("member.none");
  const fact = (label, value, testid) => [h("dt", {}, label), h("dd", { dataset: { testid } }, value ?? none)];
  const tags = h("ul", { class: "tags", dataset: { testid: "tags" } });
  const drawTags = () => clear(tags, (profile.tags || []).length ? profile.tags.map((tag) => h("li", { class: "tag" }, tag,
    canDo("tags") ? h("button", { type: "button", class: "tag-x", "aria-label": t("member.tag_remove", { tag }), onclick: () => changeTags({ remove: [tag] }) }, "×") : null))
    : h("li", { class: "muted" }, t("member.no_tags")));
  const tagInput = h("input", { id: "tag-input", maxlength: 40, autocomplete: "off", dataset: { testid: "tag-input" } });
  const tagForm = h("form", { class: "tag-form" },
    h("label", { for: "tag-input", class: "visually-hidden" }, t("member.tag_label")), tagInput,
    h("button", { type: "submit", class: "secondary", dataset: { testid: "tag-add" } }, t("member.tag_add")));
  tagForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const tag = tagInput.value.trim();
    if (tag) changeTags({ add: [tag] });
  });

  async function changeTags(change) {
    try {
      const answer = await post(`${path}/tags`, change);
      profile.tags = answer.tags ?? (await get(path)).tags;
      tagInput.value = "";
      drawTags();
    } catch (err) {
      reportError(err);
    }
  }

  const upcoming = profile.upcoming || [];
  const noteTime = new Intl.DateTimeFormat(locale(), { dateStyle: "short", timeStyle: "short" });  // this device's zone
  const notesList = h("ul", { class: "plain notes", dataset: { testid: "notes" } });
  const drawNotes = () => clear(notesList, (profile.notes || []).length
    ? profile.notes.slice().reverse().map((n) => h("li", { class: "note" }, h("p", {}, n.text),
      h("span", { class: "muted small" }, `${noteTime.format(new Date(n.at))} · ${n.by}`)))
    : h("li", { class: "muted" }, t("member.none")));
  const noteText = h("textarea", { id: "note-input", rows: 2, maxlength: 2000, dataset: { testid: "note-input" } });
  const noteForm = h("form", { class: "note-form" },
    h("label", { for: "note-input", class: "visually-hidden" }, t("member.note_label")), noteText,
    h("button", { type: "submit", class: "secondary", dataset: { testid: "note-add" } }, t("member.note_add")));
  noteForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = noteText.value.trim();
    if (!text) return;
    try {
      profile.notes = (await post(`${path}/notes`, { text })).notes;
      noteText.value = "";
      drawNotes();
    } catch (err) {
      reportError(err);
    }
  });
  drawTags();
  drawNotes();
  clear(pane,
    h("div", { class: "pane-head" }, h("h2", { id: "member-title" }, t("member.title"))),
    h("div", { class: "member-card", dataset: { testid: "member-panel" } },
      h("p", { class: "member-name" }, profile.name || memberId,
        h("span", { class: `badge ${profile.status === "active" ? "ok" : "warn"}` }, t(`member.status.${profile.status}`))),
      canDo("book") ? h("a", { class: "link", href: `#/book/${encodeURIComponent(memberId)}`, dataset: { testid: "member-book" } }, t("book.for_member")) : null,
      h("dl", { class: "facts" },
        fact(t("member.visits"), String(profile.visits), "visits"),
        fact(t("member.last_visit"), profile.last_visit_at ? profile.last_visit_at.slice(0, 10) : null),
        fact(t("member.next_booking"), profile.next_booking_at ? dayAndTime(profile.next_booking_at) : null),
        fact(t("member.channel"), profile.preferred_channel),
        fact(t("member.services"), (profile.services || []).join("、") || null)),
      preferencesPanel(profile, path),
      h("h3", {}, t("member.tags")), tags, canDo("tags") ? tagForm : null,
      upcoming.length ? [h("h3", {}, t("member.upcoming")), h("ul", { class: "plain" }, upcoming.map((b) =>
        h("li", {}, h("a", { href: `#/booking/${encodeURIComponent(b.id)}` }, `${dayAndTime(b.start)} · ${b.service.name} · ${b.stylist.name}`))))] : null,
      h("h3", {}, t("member.consent")),
      h("dl", { class: "facts" },
        fact(t("member.consent.transactional"), profile.consent.transactional ? t("member.yes") : t("member.no")),
        fact(t("member.consent.marketing"), profile.consent.marketing ? t("member.yes") : t("member.no"), "consent-marketing")),
      h("h3", {}, t("member.notes")), notesList, noteForm));
}
