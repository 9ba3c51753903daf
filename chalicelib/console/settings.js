// Settings (issue 17): what the store's review request and hand-offs use -- its review links, the manager's phone and
// the hand-off limit -- and, for chain admins, what follows the chain's feedback request; on both, the channel
// routing (issue 15). Each card PATCHes what it
// shows (PATCH /v1/stores/{store}/settings, /v1/chains/{chain}/settings); the API validates and names a bad field.
import { get, patch } from "./api.js";
import { clear, h, toast } from "./dom.js";
import { t } from "./i18n.js";
import { canDo, reportError } from "./session.js";

const LOCALES = ["", "zh-CN", "en"]; // "" -- every locale
const CHANNELS = ["wechat", "wechat_template", "wechat_subscribe", "agora", "sms", "email"]; // services/channel_router.py CHANNELS

const field = (id, text, control, hint) => h("div", { class: "field" }, h("label", { for: id }, text), control,
  hint ? h("span", { class: "muted small" }, hint) : null);

// A 400's `fields` beside the form (and each named input marked invalid); anything else as usual.
function showError(form, err) {
  const box = form.querySelector(".form-error");
  form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
  const fields = err.body && err.body.fields;
  if (err.status !== 400 || !fields) {
    box.textContent = "";
    reportError(err);
    return;
  }
  const named = (name) => {
    const index = name.split(".").find((part) => /^\d+$/.test(part));
    const key = name.split(".").filter((part) => !/^\d+$/.test(part)).join(".");
    return index === undefined ? t(`set.f.${key}`) : `${t(`set.f.${key}`)} (${Number(index) + 1})`;
  };
  box.textContent = Object.entries(fields).map(([name, why]) => `${named(name)}: ${why}`).join("; ");
  for (const name of Object.keys(fields)) form.querySelector(`[data-field="${CSS.escape(name)}"]`)?.setAttribute("aria-invalid", "true");
}

// PATCH what a card shows; the card is drawn again from what was stored, or the refusal is shown beside it.
async function save(form, path, body, redraw) {
  try {
    const saved = await patch(path, body);
    toast(t("set.saved"));
    form.replaceWith(redraw(saved));
  } catch (err) {
    showError(form, err);
  }
}

// The channel router's override (issue 15): the default (null -- the chain's, then the standard order), or the
// channels to try in order and whether a member's own choice goes first. Receipt waits are kept as stored.
function routingFields(scope, routing, defaults) {
  const own = Boolean(routing);
  const useDefault = h("input", { type: "checkbox", checked: !own, dataset: { testid: `set-${scope}-routing-default` } });
  const order = own && routing.order ? routing.order : defaults.order;
  const list = h("ol", { class: "routing-order", dataset: { testid: `set-${scope}-routing-order`, field: "channel_routing.order" } });
  const row = (channel, on) => {
    const name = t(`set.channel.${channel}`);
    const li = h("li", { class: "routing-row", dataset: { channel } },
      h("label", {}, h("input", { type: "checkbox", checked: on, dataset: { testid: `set-${scope}-routing-use` } }), " ", name),
      h("button", { type: "button", class: "ghost", "aria-label": t("set.routing_up", { channel: name }), dataset: { testid: `set-${scope}-routing-up` },
        onclick: () => li.previousElementSibling?.before(li) }, "↑"));
    list.append(li);
  };
  order.forEach((channel) => row(channel, true));
  CHANNELS.filter((channel) => !order.includes(channel)).forEach((channel) => row(channel, false));
  const prefer = h("input", { type: "checkbox", checked: own && routing.prefer_member_choice !== undefined ? routing.prefer_member_choice : defaults.prefer_member_choice,
    dataset: { testid: `set-${scope}-routing-prefer`, field: "channel_routing.prefer_member_choice" } });
  const sync = () => [...list.querySelectorAll("input, button"), prefer].forEach((el) => { el.disabled = useDefault.checked; });
  useDefault.addEventListener("change", sync);
  sync();
  const fieldset = h("fieldset", { class: "routing" }, h("legend", {}, t("set.routing")),
    h("p", { class: "muted small" }, t(`set.routing_hint_${scope}`)),
    h("label", {}, useDefault, " ", t(`set.routing_default_${scope}`)), list,
    h("label", {}, prefer, " ", t("set.routing_prefer")));
  const value = () => (useDefault.checked ? null : {
    order: [...list.children].filter((li) => li.querySelector("input").checked).map((li) => li.dataset.channel),
    prefer_member_choice: prefer.checked,
    ...(own && routing.receipt_wait_seconds ? { receipt_wait_seconds: routing.receipt_wait_seconds } : {}),
  });
  return { fieldset, value };
}

function storeCard(session, settings) {
  const path = `/v1/stores/${encodeURIComponent(session.store)}/settings`;
  const links = h("ol", { class: "review-links", dataset: { testid: "set-links" } });
  const linkRow = (link) => {
    const i = links.children.length;
    const locale = h("select", { "aria-label": t("set.link_locale"), dataset: { testid: "set-link-locale", field: `review_links.${i}.locales` } },
      LOCALES.map((code) => h("option", { value: code, selected: (link.locales[0] || "") === code }, code ? t(`set.locale.${code}`) : t("set.locale.any"))));
    const label = h("input", { value: link.label, maxlength: 40, placeholder: t("set.link_label_hint"), "aria-label": t("set.link_label"),
      dataset: { testid: "set-link-label", field: `review_links.${i}.label` } });
    const url = h("input", { type: "url", value: link.url, maxlength: 300, required: true, placeholder: "https://", "aria-label": t("set.link_url"),
      dataset: { testid: "set-link-url", field: `review_links.${i}.url` } });
    const row = h("li", { class: "review-link" }, label, url, locale,
      h("button", { type: "button", class: "ghost", "aria-label": t("set.link_remove"), dataset: { testid: "set-link-remove" }, onclick: () => row.remove() }, "×"));
    links.append(row);
  };
  settings.review_links.forEach(linkRow);
  const showsPhone = "manager_phone" in settings;
  const phone = h("input", { id: "set-phone", type: "tel", value: settings.manager_phone || "", maxlength: 32, placeholder: "+8613900000000",
    autocomplete: "off", dataset: { testid: "set-phone", field: "manager_phone" } });
  const limit = h("input", { id: "set-limit", type: "number", min: 1, max: 240, step: 1, inputmode: "numeric",
    value: settings.handoff_limit_minutes ?? "", placeholder: String(settings.defaults.handoff_limit_minutes), dataset: { testid: "set-limit", field: "handoff_limit_minutes" } });
  const routing = routingFields("store", settings.channel_routing, settings.defaults.channel_routing);
  const form = h("form", { class: "card settings-form", novalidate: true, dataset: { testid: "set-store-form" }, "aria-labelledby": "set-store-title" },
    h("h2", { id: "set-store-title" }, t("set.store_title", { store: session.store })),
    h("h3", {}, t("set.review_links")), h("p", { class: "muted small" }, t("set.review_links_hint")), links,
    h("button", { type: "button", class: "secondary", dataset: { testid: "set-link-add" }, onclick: () => linkRow({ label: "", url: "", locales: [] }) }, t("set.link_add")),
    showsPhone ? field("set-phone", t("set.f.manager_phone"), phone, t("set.phone_hint")) : null,
    field("set-limit", t("set.f.handoff_limit_minutes"), limit, t("set.limit_hint", { n: settings.defaults.handoff_limit_minutes })),
    routing.fieldset,
    h("p", { class: "form-error", role: "alert", dataset: { testid: "set-store-error" } }),
    h("button", { type: "submit", class: "primary", dataset: { testid: "set-store-save" } }, t("set.save")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {
      review_links: [...links.children].map((row, i) => {
        const [label, url, locale] = row.querySelectorAll("input, select");
        [[label, "label"], [url, "url"], [locale, "locales"]].forEach(([el, name]) => { el.dataset.field = `review_links.${i}.${name}`; });
        return { label: label.value.trim(), url: url.value.trim(), locales: locale.value ? [locale.value] : [] };
      }),
      handoff_limit_minutes: limit.value === "" ? null : Number(limit.value),
      channel_routing: routing.value(),
    };
    if (showsPhone) body.manager_phone = phone.value.trim() || null;
    await save(form, path, body, (saved) => storeCard(session, saved));
  });
  return form;
}

function chainCard(session, settings) {
  const path = `/v1/chains/${encodeURIComponent(session.staff.chainId)}/settings`;
  const feedback = settings.feedback_settings;
  const coupon = feedback.thank_you_coupon;
  const noAnswer = h("select", { id: "set-no-answer", dataset: { testid: "set-no-answer", field: "feedback_settings.no_answer" } },
    ["", "send_review", "skip"].map((value) => h("option", { value, selected: (feedback.no_answer || "") === value },
      value ? t(`set.no_answer.${value}`) : t("set.default_is", { value: t(`set.no_answer.${settings.defaults.feedback_settings.no_answer}`) }))));
  const offer = h("input", { id: "set-offer", value: coupon?.offer || "", maxlength: 100, placeholder: t("set.offer_hint"),
    dataset: { testid: "set-offer", field: "feedback_settings.thank_you_coupon.offer" } });
  const days = h("input", { id: "set-days", type: "number", min: 1, max: 365, step: 1, inputmode: "numeric", value: coupon?.valid_days ?? 30,
    dataset: { testid: "set-days", field: "feedback_settings.thank_you_coupon.valid_days" } });
  const routing = routingFields("chain", settings.channel_routing, settings.defaults.channel_routing);
  const form = h("form", { class: "card settings-form", novalidate: true, dataset: { testid: "set-chain-form" }, "aria-labelledby": "set-chain-title" },
    h("h2", { id: "set-chain-title" }, t("set.chain_title")),
    field("set-no-answer", t("set.f.feedback_settings.no_answer"), noAnswer, t("set.no_answer_hint")),
    field("set-offer", t("set.f.feedback_settings.thank_you_coupon.offer"), offer, t("set.coupon_hint")),
    field("set-days", t("set.f.feedback_settings.thank_you_coupon.valid_days"), days),
    routing.fieldset,
    h("p", { class: "form-error", role: "alert", dataset: { testid: "set-chain-error" } }),
    h("button", { type: "submit", class: "primary", dataset: { testid: "set-chain-save" } }, t("set.save")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {
      feedback_settings: {
        no_answer: noAnswer.value || null,
        thank_you_coupon: offer.value.trim() ? { offer: offer.value.trim(), valid_days: Number(days.value) } : null,
      },
      channel_routing: routing.value(),
    };
    await save(form, path, body, (saved) => chainCard(session, saved));
  });
  return form;
}

export async function renderSettings(main, session) {
  const page = h("section", { class: "page settings", "aria-labelledby": "set-title" },
    h("div", { class: "page-head" }, h("h1", { id: "set-title" }, t("set.title"))));
  clear(main, page);
  if (!canDo("settings")) {
    page.append(h("p", { class: "muted", dataset: { testid: "set-not-allowed" } }, t("err.forbidden")));
    return;
  }
  const chainWide = canDo("chainSettings");
  const [store, chain] = await Promise.all([
    get(`/v1/stores/${encodeURIComponent(session.store)}/settings`),
    chainWide ? get(`/v1/chains/${encodeURIComponent(session.staff.chainId)}/settings`) : null,
  ]);
  page.append(...[storeCard(session, store), chain && chainCard(session, chain)].filter(Boolean));
}
