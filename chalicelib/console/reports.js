// Reports: what the messages, bookings and replies of a period came to, as an owner would rather look than read --
// key figures as tiles, weekly trend lines, bars per store, stylist and channel, each chart with its table, and CSV.
// The API (GET /v1/chains/{chain}/reports, docs/REPORTS.md) does the counting; this screen only draws.
import { API_BASE, download, get } from "./api.js";
import { clear, h } from "./dom.js";
import { label, locale, t } from "./i18n.js";
import { reportError } from "./session.js";

const SVG = "http://www.w3.org/2000/svg";
const GROUPS = ["week", "store", "stylist", "channel"];
// The key figures, from the period's totals: [field, format].
const TILES = [
  ["messages_sent", "count"], ["delivery_rate", "rate"], ["read_rate", "rate"], ["reply_rate", "rate"],
  ["bookings", "count"], ["no_show_rate", "rate"], ["rebook_rate_60d", "rate"], ["feedback_avg_score", "score"],
  ["complaints", "count"], ["first_response_median_s", "seconds"], ["opt_outs", "count"], ["campaign_bookings", "count"],
];
// What the bars per store, stylist and channel can compare.
const COMPARE = [
  ["messages_sent", "count"], ["delivery_rate", "rate"], ["read_rate", "rate"], ["reply_rate", "rate"],
  ["bookings", "count"], ["no_show_rate", "rate"], ["rebook_rate_60d", "rate"], ["feedback_avg_score", "score"],
  ["complaints", "count"], ["opt_outs", "count"],
];
const COLORS = { messages_sent: "#2f6f62", messages_delivered: "#4a7fc1", messages_read: "#d08c2b",
  no_show_rate: "#b3261e", no_show_rate_confirmed: "#2e7d4f", no_show_rate_unconfirmed: "#a65f00" };
const FORMAT_OF = Object.fromEntries([...TILES, ...COMPARE]);

// An API without the reports route (API Gateway / chalice local: 403 "Missing Authentication Token", no error code).
const missing = (err) => err.status === 404 || (err.status === 403 && !err.body?.error);

const isoDay = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;

export function format(value, kind) {
  if (value === null || value === undefined) return "–";
  const nf = (n, digits = 0, least = digits) => Number(n).toLocaleString(locale(), { minimumFractionDigits: least, maximumFractionDigits: digits });
  if (kind === "rate") return `${nf(value * 100, 1)}%`;
  if (kind === "score") return nf(value, 1);
  if (kind === "seconds") return value < 60 ? t("rep.seconds", { n: nf(value) }) : value < 3600 ? t("rep.minutes", { n: nf(value / 60, 1, 0) }) : t("rep.hours", { n: nf(value / 3600, 1, 0) });
  return nf(value);
}

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) if (value !== null && value !== undefined) el.setAttribute(name, String(value));
  for (const child of children.flat(Infinity)) if (child !== null && child !== undefined) el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return el;
}

// A round top for an axis: 1, 2, 2.5 or 5 times a power of ten.
function niceMax(value, kind) {
  if (kind === "rate") return value > 0.5 ? 1 : Math.max(0.05, Math.ceil(value * 20) / 20);
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 2.5, 5, 10].map((m) => m * power).find((m) => m >= value);
}

// The table behind a chart, for a screen reader and for anyone who wants the exact numbers.
function fallback(rows, columns, group) {
  return h("details", { class: "chart-table" }, h("summary", {}, t("rep.table")),
    h("table", {},
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("rep.col.label")), columns.map(([field]) => h("th", { scope: "col" }, t(`rep.f.${field}`))))),
      h("tbody", {}, rows.map((row) => h("tr", {}, h("th", { scope: "row" }, rowLabel(row, group)),
        columns.map(([field, kind]) => h("td", {}, format(row[field], kind))))))));
}

// A channel's key is translated ("sms" -> 短信); stores and stylists keep the names the API gives.
function rowLabel(row, group) {
  return group === "channel" ? label("channel", row.key) : row.label ?? row.key;
}

function figure(id, title, chart, table) {
  const titleId = `${id}-title`;
  (chart.querySelector?.("svg") ?? chart).setAttribute("aria-labelledby", titleId);
  return h("figure", { class: "card chart", dataset: { testid: id } },
    h("figcaption", { id: titleId }, title), chart, table);
}

// Lines over the weeks: one per field, a gap where a value is null (a rate of nothing).
function lineChart(id, title, rows, fields, kind) {
  const W = 640, H = 240, L = 52, R = 12, T = 12, B = 40;
  const values = rows.flatMap((row) => fields.map((f) => row[f])).filter((v) => v !== null && v !== undefined);
  const top = niceMax(Math.max(0, ...values), kind);
  const x = (i) => L + (rows.length < 2 ? (W - L - R) / 2 : (i * (W - L - R)) / (rows.length - 1));
  const y = (v) => T + (H - T - B) * (1 - v / top);
  const grid = [0, 0.25, 0.5, 0.75, 1].map((f) => svg("g", { class: "grid" },
    svg("line", { x1: L, x2: W - R, y1: y(top * f), y2: y(top * f) }),
    svg("text", { x: L - 6, y: y(top * f) + 4, "text-anchor": "end" }, format(top * f, kind === "rate" ? "rate" : "count"))));
  const every = Math.max(1, Math.ceil(rows.length / 8));
  const ticks = rows.map((row, i) => (i % every === 0 ? svg("text", { class: "tick", x: x(i), y: H - B + 16, "text-anchor": "middle" }, row.label ?? row.key) : null));
  const series = fields.map((field) => {
    let d = "";
    let pen = false;
    rows.forEach((row, i) => {
      const v = row[field];
      if (v === null || v === undefined) {
        pen = false;
        return;
      }
      d += `${pen ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)} `;
      pen = true;
    });
    const points = rows.map((row, i) => (row[field] === null || row[field] === undefined ? null
      : svg("circle", { cx: x(i), cy: y(row[field]), r: 3.5, fill: COLORS[field] }, svg("title", {}, `${row.label ?? row.key} · ${t(`rep.f.${field}`)}: ${format(row[field], kind)}`))));
    return svg("g", { class: "series", "data-series": field, "data-values": rows.map((row) => row[field] ?? "").join(",") },
      svg("path", { d: d.trim(), fill: "none", stroke: COLORS[field], "stroke-width": 2.5, "stroke-linejoin": "round" }), points);
  });
  const legend = h("ul", { class: "legend" }, fields.map((field) => h("li", {},
    h("span", { class: `swatch ${field}`, "aria-hidden": "true" }), t(`rep.f.${field}`))));
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", class: "chart-svg" }, svg("title", {}, title), grid, ticks, series);
  return figure(id, title, h("div", {}, chart, legend), fallback(rows, fields.map((f) => [f, kind]), "week"));
}

// Horizontal bars, one per row, largest first, each with its value written beside it.
function barChart(id, title, rows, field, group) {
  const kind = FORMAT_OF[field];
  const sorted = [...rows].sort((a, b) => (b[field] ?? -1) - (a[field] ?? -1));
  const W = 640, L = 150, R = 70, BAR = 22, GAP = 10;
  const H = Math.max(1, sorted.length) * (BAR + GAP) + GAP;
  const top = niceMax(Math.max(0, ...sorted.map((r) => r[field] ?? 0)), kind);
  const bars = sorted.map((row, i) => {
    const v = row[field];
    const yTop = GAP + i * (BAR + GAP);
    const width = v ? ((W - L - R) * v) / top : 0;
    return svg("g", { class: "bar", "data-key": row.key, "data-value": v ?? "" },
      svg("text", { x: L - 8, y: yTop + BAR / 2 + 5, "text-anchor": "end", class: "bar-label" }, rowLabel(row, group)),
      svg("rect", { x: L, y: yTop, width: Math.max(width, v ? 2 : 0), height: BAR, rx: 4, fill: COLORS.messages_sent }),
      svg("text", { x: L + width + 6, y: yTop + BAR / 2 + 5, class: "bar-value" }, format(v, kind)));
  });
  const chart = sorted.length
    ? svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", class: "chart-svg" }, svg("title", {}, title), bars)
    : h("p", { class: "muted", role: "img" }, t("rep.none"));
  return figure(id, title, chart, fallback(sorted, [[field, kind], ["messages_sent", "count"], ["bookings", "count"]].filter(([f], i) => i === 0 || f !== field), group));
}

export async function renderReports(main, session) {
  const chain = encodeURIComponent(session.staff.chainId);
  const today = new Date();
  const start = new Date(today);
  start.setDate(start.getDate() - 83); // twelve weeks
  const from = h("input", { id: "rep-from", type: "date", value: isoDay(start), required: true, dataset: { testid: "rep-from" } });
  const to = h("input", { id: "rep-to", type: "date", value: isoDay(today), required: true, dataset: { testid: "rep-to" } });
  const everyStore = session.staff.role === "chain_admin";
  const store = h("select", { id: "rep-store", dataset: { testid: "rep-store" } },
    everyStore ? h("option", { value: "" }, t("rep.all_stores")) : null,
    session.staff.stores.map((id) => h("option", { value: id, selected: !everyStore && id === session.store }, id)));
  const compare = h("select", { id: "rep-compare", dataset: { testid: "rep-compare" } },
    COMPARE.map(([field]) => h("option", { value: field }, t(`rep.f.${field}`))));
  const field = (id, text, control) => h("div", { class: "field" }, h("label", { for: id }, text), control);
  const form = h("form", { class: "card report-form", dataset: { testid: "rep-form" } },
    field("rep-from", t("rep.from"), from), field("rep-to", t("rep.to"), to), field("rep-store", t("top.store"), store),
    h("button", { type: "submit", class: "primary", dataset: { testid: "rep-show" } }, t("rep.show")));
  const body = h("div", { class: "report-body", "aria-live": "polite", dataset: { testid: "rep-body" } });
  clear(main, h("section", { class: "page reports", "aria-labelledby": "rep-title" },
    h("div", { class: "page-head" }, h("h1", { id: "rep-title" }, t("rep.title"))), form, body));

  let reports = null;
  const query = (group) => {
    const params = new URLSearchParams({ from: from.value, to: to.value, group_by: group });
    if (store.value) params.set("store", store.value);
    return `/v1/chains/${chain}/reports?${params}`;
  };

  async function load() {
    if (!from.value || !to.value) return;
    clear(body, h("p", { class: "muted" }, t("rep.loading")));
    try {
      const answers = await Promise.all(GROUPS.map((group) => get(query(group))));
      reports = Object.fromEntries(GROUPS.map((group, i) => [group, answers[i]]));
      draw();
    } catch (err) {
      if (missing(err)) clear(body, h("p", { class: "muted", dataset: { testid: "rep-unavailable" } }, t("rep.unavailable")));
      else {
        clear(body);
        reportError(err);
      }
    }
  }

  function draw() {
    const totals = reports.week.totals || {};
    const weeks = reports.week.rows || [];
    const by = compare.value;
    clear(body,
      h("ul", { class: "tiles", "aria-label": t("rep.key_figures") }, TILES.map(([key, kind]) =>
        h("li", { class: "tile", dataset: { testid: `tile-${key}`, value: totals[key] ?? "" } },
          h("span", { class: "tile-label" }, t(`rep.f.${key}`)), h("strong", { class: "tile-value" }, format(totals[key], kind))))),
      h("div", { class: "chart-grid" },
        lineChart("chart-messages", t("rep.chart.messages"), weeks, ["messages_sent", "messages_delivered", "messages_read"], "count"),
        lineChart("chart-no-shows", t("rep.chart.no_shows"), weeks, ["no_show_rate", "no_show_rate_confirmed", "no_show_rate_unconfirmed"], "rate")),
      h("div", { class: "row compare-row" }, field("rep-compare", t("rep.compare"), compare)),
      h("div", { class: "chart-grid" },
        ["store", "stylist", "channel"].map((group) => barChart(`chart-${group}`, t(`rep.chart.${group}`, { field: t(`rep.f.${by}`) }), reports[group].rows || [], by, group))),
      h("div", { class: "card csv" }, h("h2", {}, t("rep.csv")), h("p", { class: "row" }, GROUPS.map((group) => csvLink(group)))));
  }

  function csvLink(group) {
    const path = `${query(group)}&format=csv`;
    const name = `chairside-report-${group}-${from.value}-${to.value}.csv`;
    return h("a", { href: API_BASE + path, download: name, class: "chip", dataset: { testid: `rep-csv-${group}` },
      onclick: async (event) => {
        event.preventDefault();
        try {
          const url = URL.createObjectURL(await download(path));
          const link = h("a", { href: url, download: name });
          document.body.append(link);
          link.click();
          link.remove();
          setTimeout(() => URL.revokeObjectURL(url), 1000);
        } catch (err) {
          reportError(err);
        }
      } }, t(`rep.by.${group}`));
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  store.addEventListener("change", load);
  compare.addEventListener("change", () => reports && draw());
  await load();
}
