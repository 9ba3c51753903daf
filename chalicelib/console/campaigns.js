// Campaigns: build a segment, preview who it reaches (count, reasons skipped, sample texts), schedule, watch it run.
import { get, post } from "./api.js";
import { clear, h, toast } from "./dom.js";
import { label, t } from "./i18n.js";
import { poll, reportError } from "./session.js";

// An API without the campaign routes (API Gateway: 403 "Missing Authentication Token", no error code).
const missing = (err) => err.status === 404 || (err.status === 403 && !err.body?.error);
const RESULT_KEYS = ["targeted", "pending", "sent", "delivered", "failed", "replies", "bookings_within_14_days"];

export async function renderCampaigns(main, session) {
  const screen = session.screen;
  const chain = encodeURIComponent(session.staff.chainId);
  const field = (id, label, control, hint) => h("div", { class: "field" },
    h("label", { for: id }, label), control, hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null);
  const name = h("input", { id: "camp-name", maxlength: 100, dataset: { testid: "camp-name" } });
  const stores = h("fieldset", { class: "checks" }, h("legend", {}, t("camp.stores")),
    session.staff.stores.map((id) => h("label", { class: "check" },
      h("input", { type: "checkbox", value: id, checked: id === session.store, dataset: { testid: `camp-store-${id}` } }), id)));
  const tagsAny = h("input", { id: "camp-tags", autocomplete: "off", dataset: { testid: "camp-tags" } });
  const lapsed = h("input", { id: "camp-lapsed", type: "number", min: 0, max: 3650, inputmode: "numeric", dataset: { testid: "camp-lapsed" } });
  const zh = h("textarea", { id: "camp-zh", rows: 3, maxlength: 1000, "aria-describedby": "camp-zh-hint", dataset: { testid: "camp-zh" } });
  const en = h("textarea", { id: "camp-en", rows: 3, maxlength: 1000, dataset: { testid: "camp-en" } });
  const sendAt = h("input", { id: "camp-send-at", type: "datetime-local", dataset: { testid: "camp-send-at" } });
  const previewBox = h("div", { class: "preview", "aria-live": "polite", dataset: { testid: "camp-preview" } });
  const progressBox = h("div", { class: "progress-box", "aria-live": "polite", dataset: { testid: "camp-progress" } });
  const previewButton = h("button", { type: "button", class: "secondary", dataset: { testid: "camp-preview-btn" } }, t("camp.preview"));
  const scheduleButton = h("button", { type: "submit", class: "primary", dataset: { testid: "camp-schedule-btn" } }, t("camp.schedule"));

  const form = h("form", { class: "card campaign-form", dataset: { testid: "camp-form" } },
    h("h2", {}, t("camp.segment")),
    stores,
    h("div", { class: "two" }, field("camp-tags", t("camp.tags"), tagsAny), field("camp-lapsed", t("camp.lapsed"), lapsed)),
    h("h2", {}, t("camp.template")),
    field("camp-zh", t("camp.template_zh"), zh, t("camp.template_hint")),
    field("camp-en", t("camp.template_en"), en),
    h("div", { class: "two" }, field("camp-name", t("camp.name"), name), field("camp-send-at", t("camp.send_at"), sendAt)),
    h("div", { class: "row" }, previewButton, scheduleButton));
  clear(main, h("section", { class: "page", "aria-labelledby": "camp-title" },
    h("div", { class: "page-head" }, h("h1", { id: "camp-title" }, t("camp.title"))),
    h("div", { class: "campaign-layout" }, form, h("div", { class: "campaign-side" }, previewBox, progressBox))));

  function segment() {
    const seg = { store_ids: [...stores.querySelectorAll("input:checked")].map((i) => i.value) };
    const tags = tagsAny.value.split(/[,，]/).map((s) => s.trim()).filter(Boolean);
    if (tags.length) seg.tags_any = tags;
    if (lapsed.value) seg.last_visit_before_days = Number(lapsed.value);
    return seg;
  }
  const template = () => ({ "zh-CN": zh.value, en: en.value });

  previewButton.addEventListener("click", async () => {
    try {
      const answer = await post(`/v1/chains/${chain}/campaigns/preview`, { segment: segment(), template: template() });
      drawPreview(answer);
    } catch (err) {
      if (missing(err)) clear(previewBox, h("p", { class: "muted" }, t("camp.unavailable")));
      else reportError(err);
    }
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { name: name.value.trim() || undefined, segment: segment(), template: template() };
    if (sendAt.value) body.send_at = new Date(sendAt.value).toISOString();
    try {
      const created = await post(`/v1/chains/${chain}/campaigns`, body);
      const id = created.id ?? created.campaign_id ?? created.campaign?.id;
      toast(t("camp.scheduled"));
      drawProgress(created.campaign ?? created);
      poll(async () => drawProgress(await get(`/v1/chains/${chain}/campaigns/${encodeURIComponent(id)}`)), 3000, screen);
    } catch (err) {
      if (missing(err)) clear(progressBox, h("p", { class: "muted" }, t("camp.unavailable")));
      else reportError(err);
    }
  });

  function drawPreview(answer) {
    const skipped = Object.entries(answer.skipped || {});
    clear(previewBox, h("div", { class: "card" },
      h("p", { class: "big", dataset: { testid: "camp-preview-targeted" } }, t("camp.targeted", { n: answer.targeted })),
      skipped.length ? [h("h3", {}, t("camp.skipped")), h("ul", { class: "plain" }, skipped.map(([why, n]) => h("li", {}, `${label("skip", why)}: ${n}`)))] : null,
      (answer.samples || []).length ? [h("h3", {}, t("camp.samples")), h("ul", { class: "samples" },
        answer.samples.map((s) => h("li", {}, h("span", { class: "muted small" }, s.member_id), h("p", {}, s.text))))] : null));
  }

  function drawProgress(c) {
    const counts = { ...(c.results || {}), ...(c.progress || {}) };
    for (const key of RESULT_KEYS) if (key in c && !(key in counts)) counts[key] = c[key];
    clear(progressBox, h("div", { class: "card" },
      h("h3", {}, t("camp.progress")),
      h("p", {}, `${t("camp.status")}: `, h("strong", { dataset: { testid: "camp-status" } }, label("campstatus", c.status ?? "-"))),
      Object.keys(c.skipped || {}).length ? h("p", { class: "muted small" }, `${t("camp.skipped")}: `,
        Object.entries(c.skipped).map(([why, n]) => `${label("skip", why)} ${n}`).join(" · ")) : null,
      h("dl", { class: "facts" }, RESULT_KEYS.filter((k) => k in counts).map((k) => [h("dt", {}, label("result", k)), h("dd", { dataset: { testid: `camp-${k}` } }, String(counts[k]))]))));
  }
}
