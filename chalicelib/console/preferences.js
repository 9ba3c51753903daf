// What staff remember of a member (issue 17 §5), beside the chat: her favourite stylist, style notes, the colours
// and designs she liked, and -- prominently, for staff only -- her allergies. An edit form PUTs the whole record
// (PUT …/members/{member}/preferences); member texts may say what she liked, never her allergies.
import { put } from "./api.js";
import { clear, h, toast } from "./dom.js";
import { t } from "./i18n.js";
import { reportError } from "./session.js";

const LISTS = ["colours", "designs", "allergies"];
const split = (text) => text.split(/[,，、;；\n]/).map((s) => s.trim()).filter(Boolean);

export function preferencesPanel(profile, path) {
  let prefs = profile.preferences || { favourite_stylist: "", style_notes: "", colours: [], designs: [], allergies: [] };
  const box = h("section", { class: "prefs", dataset: { testid: "preferences" }, "aria-labelledby": "prefs-title" });

  function draw() {
    const allergies = prefs.allergies || [];
    const row = (key, value) => [h("dt", {}, t(`prefs.${key}`)), h("dd", { dataset: { testid: `prefs-${key}` } }, value || t("member.none"))];
    clear(box,
      h("h3", { id: "prefs-title" }, t("prefs.title")),
      allergies.length
        ? h("p", { class: "allergy-alert", role: "alert", dataset: { testid: "prefs-allergies" } },
          h("strong", {}, t("prefs.allergies")), " ", allergies.join("、"),
          h("span", { class: "small" }, ` · ${t("prefs.staff_only")}`))
        : null,
      h("dl", { class: "facts" },
        row("favourite_stylist", prefs.favourite_stylist),
        row("style_notes", prefs.style_notes),
        row("colours", (prefs.colours || []).join("、")),
        row("designs", (prefs.designs || []).join("、"))),
      h("button", { type: "button", class: "secondary", dataset: { testid: "prefs-edit" }, onclick: edit }, t("prefs.edit")));
  }

  function edit() {
    const field = (key, attrs, value) => {
      const id = `prefs-${key}-input`;
      const input = attrs.rows
        ? h("textarea", { id, ...attrs, dataset: { testid: id } })
        : h("input", { id, autocomplete: "off", ...attrs, dataset: { testid: id } });
      input.value = value;
      return [h("label", { for: id }, t(`prefs.${key}`), LISTS.includes(key) ? h("span", { class: "muted small" }, ` (${t("prefs.list_hint")})`) : null), input];
    };
    const form = h("form", { class: "prefs-form", dataset: { testid: "prefs-form" } },
      field("favourite_stylist", { maxlength: 64 }, prefs.favourite_stylist || ""),
      field("style_notes", { rows: 2, maxlength: 500 }, prefs.style_notes || ""),
      LISTS.map((key) => field(key, {}, (prefs[key] || []).join("、"))),
      h("div", { class: "row" },
        h("button", { type: "submit", dataset: { testid: "prefs-save" } }, t("prefs.save")),
        h("button", { type: "button", class: "secondary", onclick: draw }, t("prefs.cancel"))));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const value = (key) => form.querySelector(`#prefs-${key}-input`).value;
      const body = {
        favourite_stylist: value("favourite_stylist").trim(),
        style_notes: value("style_notes").trim(),
        ...Object.fromEntries(LISTS.map((key) => [key, split(value(key))])),
      };
      try {
        prefs = (await put(`${path}/preferences`, body)).preferences;
        toast(t("prefs.saved"));
        draw();
      } catch (err) {
        const fields = err.body && err.body.fields;
        if (fields) toast(Object.entries(fields).map(([k, v]) => `${k}: ${v}`).join("; "), "error");
        else reportError(err);
      }
    });
    clear(box, h("h3", { id: "prefs-title" }, t("prefs.title")), form);
    form.querySelector("input, textarea").focus();
  }

  draw();
  return box;
}
