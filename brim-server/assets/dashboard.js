// The dashboard: KPI cards, charts and tables drawn from the analytics API, and a lead's
// story in a side panel (its explanation, e-mail, events; re-queue, cancel, delete).
"use strict";

const DAY_MS = 86400000;
// What a first click on a column sorts by: names A→Z, scores and dates best/newest first.
const FIRST_ORDER = { name: "asc", score: "desc", date: "desc" };
const state = { page: 1, perPage: 25, sort: "score", order: "desc", search: "", status: "", action: "",
  period: { days: 30, endDate: null } };

const KPIS = [
  ["qualified-leads", "Qualified leads", ""],
  ["email-engagement", "E-mail click-through", " %"],
  ["new-activations", "New activations", ""],
  ["funnel-conversion-rate", "Funnel conversion", " %"],
];

// ---- errors and states -------------------------------------------------------------------

function explain(error) {
  if (error instanceof ApiError) {
    if (error.status >= 500) {
      return `The server could not answer (HTTP ${error.status}: ${error.message}). Press Refresh to try again; if it keeps failing, check the server's log.`;
    }
    return `The server refused the request (HTTP ${error.status}): ${error.message}`;
  }
  // fetch rejects with a TypeError when the server cannot be reached at all.
  return "Could not reach the server. Is brim serve still running? Press Refresh to try again.";
}

function showError(error) {
  if (error instanceof ApiError && error.status === 401) {
    const hadKey = Boolean(sessionStorage.getItem(KEY_STORE));
    $("key-message").textContent = hadKey
      ? "The API key was refused: it is wrong, or the server's key was changed (an expired key). Enter the current key."
      : "This server needs its API key to show the dashboard.";
    $("key-form").classList.remove("hidden");
    $("key").focus();
    return;
  }
  $("error").textContent = explain(error);
  $("error").classList.remove("hidden");
}

function notice(text) {
  $("notice").textContent = text;
  $("notice").classList.remove("hidden");
}

// ---- the period --------------------------------------------------------------------------

function isoDay(ms) { return new Date(ms).toISOString().slice(0, 10); }

/** The period's query string: `days=N` (ending today) or `days=N&end_date=YYYY-MM-DD`. */
function periodQuery() {
  const params = new URLSearchParams({ days: state.period.days });
  if (state.period.endDate) params.set("end_date", state.period.endDate);
  return params.toString();
}

function periodLabel() {
  const { days, endDate } = state.period;
  const span = `${days} ${days === 1 ? "day" : "days"}`;
  if (!endDate) return `The last ${span} (since ${when(Date.now() - days * DAY_MS)}), compared with the ${span} before`;
  const start = Date.parse(endDate) - (days - 1) * DAY_MS;
  return `${isoDay(start)} to ${endDate} (UTC, ${span}), compared with the ${span} before`;
}

function choosePeriod() {
  const value = $("days").value;
  $("range").classList.toggle("hidden", value !== "custom");
  if (value === "custom") {
    // Start from the period shown, so Apply alone changes nothing.
    const end = state.period.endDate || isoDay(Date.now());
    $("to").value = end;
    $("from").value = isoDay(Date.parse(end) - (state.period.days - 1) * DAY_MS);
    $("from").focus();
    return;
  }
  state.period = { days: Number(value), endDate: null };
  loadAll();
}

function applyRange(event) {
  event.preventDefault();
  const from = Date.parse($("from").value), to = Date.parse($("to").value);
  $("error").classList.add("hidden");
  if (Number.isNaN(from) || Number.isNaN(to)) return showRangeError("Choose both dates of the range.");
  if (from > to) return showRangeError("The range starts after it ends: choose a start on or before the end.");
  const days = Math.round((to - from) / DAY_MS) + 1;
  if (days > 3660) return showRangeError("A range can be at most 3,660 days (about ten years).");
  state.period = { days, endDate: $("to").value };
  loadAll();
}

function showRangeError(text) {
  $("error").textContent = text;
  $("error").classList.remove("hidden");
}

// ---- KPIs and charts ---------------------------------------------------------------------

async function loadKpis() {
  const cards = await Promise.all(KPIS.map(([metric]) => api(`/api/analytics/kpi/${metric}?${periodQuery()}`)));
  $("kpis").replaceChildren(...cards.map((card, i) => {
    const [metric, label, unit] = KPIS[i];
    const change = card.percentage_change;
    let changeNode;
    if (change === null) changeNode = el("span", { class: "flat" }, card.current_value ? "new this period" : "none in either period");
    else if (change > 0) changeNode = el("span", { class: "up" }, `▲ ${fmt(change, 1)} %`);
    else if (change < 0) changeNode = el("span", { class: "down" }, `▼ ${fmt(-change, 1)} %`);
    else changeNode = el("span", { class: "flat" }, "no change");
    return el("div", { class: "card", "data-metric": metric, title: card.description },
      el("div", { class: "label" }, label),
      el("div", { class: "value" }, fmt(card.current_value, 2) + unit),
      el("div", { class: "change" }, changeNode, el("span", { class: "muted" }, ` vs ${fmt(card.previous_value, 2)}${unit} before`)));
  }));
}

function lineChart(points, series) {
  const width = 560, height = 220, left = 34, bottom = 22, top = 10;
  const max = Math.max(1, ...points.flatMap((p) => series.map((s) => p[s.key])));
  const x = (i) => left + (points.length <= 1 ? 0 : (i * (width - left - 8)) / (points.length - 1));
  const y = (v) => top + (height - top - bottom) * (1 - v / max);
  const total = (key) => points.reduce((sum, p) => sum + p[key], 0);
  const summary = series.map((s) => `${fmt(total(s.key))} ${s.label}`).join(" and ");
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img",
    "aria-label": `Qualified leads and activations per day, ${points[0]?.date ?? ""} to ${points[points.length - 1]?.date ?? ""}: ${summary} in all` },
  svg("title", {}, `Qualified leads and activations per day: ${summary}`));
  for (const frac of [0, 0.5, 1]) {
    const v = Math.round(max * frac);
    chart.append(svg("line", { x1: left, x2: width - 4, y1: y(v), y2: y(v), stroke: "#e3e6ec" }),
      svg("text", { x: 2, y: y(v) + 4 }, fmt(v)));
  }
  const step = Math.max(1, Math.ceil(points.length / 6));
  points.forEach((p, i) => {
    const last = i === points.length - 1;
    if (i % step === 0 || last) chart.append(svg("text", { x: x(i), y: height - 4, "text-anchor": last ? "end" : i === 0 ? "start" : "middle", "data-axis": "x" }, p.date.slice(5)));
  });
  for (const s of series) {
    chart.append(svg("polyline", { fill: "none", stroke: s.color, "stroke-width": 2, "data-series": s.key,
      points: points.map((p, i) => `${x(i).toFixed(1)},${y(p[s.key]).toFixed(1)}`).join(" ") }));
    points.forEach((p, i) => {
      if (p[s.key] > 0) chart.append(svg("circle", { cx: x(i), cy: y(p[s.key]), r: 2.5, fill: s.color },
        svg("title", {}, `${p.date}: ${p[s.key]} ${s.label}`)));
    });
  }
  return chart;
}

async function loadFunnel() {
  const points = await api(`/api/analytics/funnel-over-time?${periodQuery()}`);
  const series = [
    { key: "qualified_leads", color: "#2f6fed", label: "qualified leads" },
    { key: "activations", color: "#1f8a4c", label: "activations" },
  ];
  const quiet = points.every((p) => series.every((s) => p[s.key] === 0));
  const parts = [lineChart(points, series)];
  if (quiet) parts.push(el("p", { class: "muted empty" }, "No qualified leads and no activations in this period. Score leads, or choose a longer period."));
  $("funnel-chart").replaceChildren(...parts);
}

async function loadDistribution() {
  const bins = await api(`/api/analytics/score-distribution?${periodQuery()}`);
  const companies = bins.reduce((sum, b) => sum + b.companies, 0);
  if (companies === 0) {
    $("distribution-chart").replaceChildren(el("p", { class: "muted empty" },
      "No companies were scored in this period. Score leads (POST /api/score-company or a batch upload), or choose a longer period."));
    return;
  }
  const width = 560, height = 220, bottom = 22, top = 14;
  const max = Math.max(1, ...bins.map((b) => b.companies));
  const bar = (width - 10) / Math.max(1, bins.length);
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img",
    "aria-label": `Score distribution of ${fmt(companies)} companies: ${bins.map((b) => `${b.from}–${b.to}: ${b.companies}`).join(", ")}` },
  svg("title", {}, `Score distribution of ${fmt(companies)} companies`));
  bins.forEach((b, i) => {
    const h = ((height - top - bottom) * b.companies) / max;
    const color = b.from > 75 ? "#1f8a4c" : b.from >= 50 ? "#2f6fed" : "#9aa3b5";
    chart.append(
      svg("rect", { x: 5 + i * bar + 3, y: height - bottom - h, width: bar - 6, height: h, fill: color, "data-bin": `${b.from}-${b.to}` },
        svg("title", {}, `${b.from}–${b.to}: ${b.companies} companies`)),
      svg("text", { x: 5 + i * bar + bar / 2 - 10, y: height - 6 }, `${b.from}–${b.to}`),
      svg("text", { x: 5 + i * bar + bar / 2 - 6, y: height - bottom - h - 3 }, b.companies ? fmt(b.companies) : ""));
  });
  $("distribution-chart").replaceChildren(chart);
}

// ---- A/B results -------------------------------------------------------------------------

function withInterval(rate, ci) {
  return el("span", {}, `${fmt(rate, 1)} %`, el("span", { class: "muted" }, ` (${fmt(ci[0], 1)}–${fmt(ci[1], 1)} %)`));
}

function verdict(row) {
  const vs = row.click_vs_best;
  if (row.sent === 0) return el("span", { class: "muted" }, "nothing sent yet");
  if (!vs) return el("span", { class: "up" }, "best click rate so far");
  const p = vs.p_value < 0.001 ? "p < 0.001" : `p = ${fmt(vs.p_value, 3)}`;
  if (vs.significant) return el("span", { class: "down" }, `clicks less than ${vs.against} (${p}): a real difference`);
  if (vs.needed_per_variant === null) return el("span", { class: "muted" }, `same click rate as ${vs.against} so far`);
  return el("span", { class: "muted" },
    `no clear difference from ${vs.against} yet (${p}); about ${fmt(vs.more_needed)} more sends per variant needed (${fmt(vs.needed_per_variant)} each in all)`);
}

async function loadVariants() {
  const rows = await api(`/api/analytics/email-performance?${periodQuery()}`);
  $("variants").tBodies[0].replaceChildren(...(rows.length ? rows.map((r) => el("tr", { "data-variant": r.variant },
    el("td", {}, r.variant), el("td", { class: "num" }, fmt(r.sent)),
    el("td", {}, withInterval(r.open_rate, r.open_rate_ci)),
    el("td", {}, withInterval(r.click_rate, r.click_rate_ci)),
    el("td", { class: "verdict" }, verdict(r))))
    : [el("tr", {}, el("td", { colspan: 5, class: "muted" },
      "No e-mails sent in this period. E-mails go out within the send window (brim serve --send-window); the queue shows what is waiting."))]));
}

// ---- learned scoring ---------------------------------------------------------------------

let learnedModels = [];

function modelLabel(m) { return `${m.name} ${m.version}`; }

function calibrationChart(model) {
  const bins = (model.calibration || []).filter((b) => b.rows > 0);
  if (!bins.length) return el("p", { class: "muted" }, `${modelLabel(model)} was trained without cross-validation: no calibration to show.`);
  const size = 220, pad = 30;
  const at = (v) => pad + (size - pad - 8) * v;
  const yAt = (v) => size - pad - (size - pad - 8) * v;
  const chart = svg("svg", { viewBox: `0 0 ${size} ${size}`, width: 240, role: "img", id: "calibration",
    "aria-label": `Calibration of ${modelLabel(model)}: ${bins.map((b) => `predicted ${fmt(100 * b.predicted)} %, observed ${fmt(100 * b.observed)} % (${b.rows} rows)`).join("; ")}` },
  svg("title", {}, `Calibration of ${modelLabel(model)}: predicted against observed conversion`),
  svg("line", { x1: at(0), y1: yAt(0), x2: at(1), y2: yAt(1), stroke: "#e3e6ec", "stroke-dasharray": "4 3" }),
  svg("line", { x1: at(0), y1: yAt(0), x2: at(1), y2: yAt(0), stroke: "#9aa3b5" }),
  svg("line", { x1: at(0), y1: yAt(0), x2: at(0), y2: yAt(1), stroke: "#9aa3b5" }),
  svg("text", { x: at(0.5), y: size - 4, "text-anchor": "middle" }, "predicted"),
  svg("text", { x: 10, y: yAt(0.5), transform: `rotate(-90 10 ${yAt(0.5)})`, "text-anchor": "middle" }, "observed"),
  svg("text", { x: at(0), y: size - pad + 12, "text-anchor": "middle" }, "0"),
  svg("text", { x: at(1), y: size - pad + 12, "text-anchor": "middle" }, "1"));
  chart.append(svg("polyline", { fill: "none", stroke: "#2f6fed", "stroke-width": 2,
    points: bins.map((b) => `${at(b.predicted).toFixed(1)},${yAt(b.observed).toFixed(1)}`).join(" ") }));
  for (const b of bins) {
    chart.append(svg("circle", { cx: at(b.predicted), cy: yAt(b.observed), r: 3, fill: "#2f6fed" },
      svg("title", {}, `predicted ${fmt(100 * b.predicted, 1)} %, observed ${fmt(100 * b.observed, 1)} %, ${b.rows} rows`)));
  }
  return el("div", {}, el("h4", {}, `Calibration of ${modelLabel(model)}`), chart,
    el("p", { class: "muted small" }, "Points on the dashed line: the predicted probability is what happened."));
}

function featureList(model) {
  const features = model.top_features || [];
  return el("div", {}, el("h4", {}, "What drives conversion (logistic regression's weights)"),
    features.length ? el("ul", { id: "top-features" }, features.slice(0, 8).map((f) =>
      el("li", {}, el("span", { class: f.weight >= 0 ? "up" : "down" }, f.weight >= 0 ? "▲ " : "▼ "), `${f.feature} (${f.weight >= 0 ? "+" : ""}${fmt(f.weight, 2)})`)))
      : el("p", { class: "muted" }, "This learner has no linear weights (trees only)."),
    (model.leak_warnings || []).length ? el("p", { class: "down small" },
      `Possible leaks: ${model.leak_warnings.map((w) => `${w.column} (ROC-AUC ${fmt(w.roc_auc, 3)} alone)`).join(", ")}`) : null);
}

async function learnedAction(path, body, done) {
  try {
    await api(path, { method: "POST", headers: { "content-type": "application/json" }, body: body ? JSON.stringify(body) : "" });
    notice(done);
    await loadLearned();
  } catch (error) {
    $("learned-active").append(el("p", { class: "error", role: "alert" }, explain(error)));
  }
}

function activateModel(m) {
  const weight = Number($("weight").value);
  if (!(weight >= 0 && weight <= 1)) {
    $("learned-active").append(el("p", { class: "error", role: "alert" }, "The weight must be a number from 0 to 1."));
    return;
  }
  learnedAction(`/api/learned-models/${m.id}/activate`, { weight }, `${modelLabel(m)} now scores with weight ${weight}.`);
}

async function loadLearned() {
  const registry = await api("/api/learned-models");
  learnedModels = registry.models;
  const active = registry.active ? learnedModels.find((m) => m.id === registry.active.model_id) : null;
  const controls = [];
  if (registry.history.length && registry.history[0].restores !== 0) controls.push(el("button", { class: "secondary", type: "button", id: "rollback",
    onclick: () => learnedAction("/api/learned-models/rollback", null, "Rolled back to the model in force before.") }, "Roll back"));
  if (active) controls.push(el("button", { class: "secondary", type: "button", id: "deactivate",
    onclick: () => learnedAction("/api/learned-models/deactivate", null, "Scores now come from the rules alone.") }, "Use the rules alone"));
  $("learned-active").replaceChildren(
    active
      ? el("p", { id: "active-model" }, el("strong", {}, `In force: ${modelLabel(active)}`),
        ` (${active.learner}, ${fmt(active.n_rows)} rows) · weight ${registry.active.weight}: total = ${fmt(100 - 100 * registry.active.weight)} % rules + ${fmt(100 * registry.active.weight)} % model · since ${when(registry.active.activated_at)}`)
      : el("p", { id: "active-model" }, el("strong", {}, "In force: the rules alone."),
        learnedModels.length ? " Activate a model below to blend its probability into every score." : " No learned model uploaded yet: train one on your outcomes with brim train (docs/learning.md)."),
    ...(controls.length ? [el("p", { class: "actions" }, controls)] : []));
  const shown = active || learnedModels[0];
  $("calibration-chart").replaceChildren(...(shown ? [calibrationChart(shown)] : []));
  $("learned-features").replaceChildren(...(shown ? [featureList(shown)] : []));
  $("learned-models").tBodies[0].replaceChildren(...(learnedModels.length ? learnedModels.map((m) => el("tr", { "data-model": m.id },
    el("td", {}, modelLabel(m), m.active ? el("span", { class: "badge sent" }, " in force") : ""),
    el("td", {}, m.learner), el("td", { class: "num" }, fmt(m.n_rows)),
    el("td", { class: "num" }, m.roc_auc === null ? "–" : `${fmt(m.roc_auc, 3)} ± ${fmt(m.roc_auc_sd, 3)}`),
    el("td", { class: "num" }, fmt(m.log_loss, 3)), el("td", { class: "num" }, m.top_decile_lift === null ? "–" : `${fmt(m.top_decile_lift, 2)}×`),
    el("td", {}, when(m.uploaded_at)),
    el("td", {}, el("button", { class: "secondary", type: "button", onclick: () => activateModel(m) }, m.active ? "Change weight" : "Activate"))))
    : [el("tr", {}, el("td", { colspan: 8, class: "muted" }, "No learned models. brim train DATA --label COL --output model.json, then POST the file to /api/learned-models."))]));
  for (const [id, pick] of [["compare-a", 1], ["compare-b", 0]]) {
    const previous = $(id).value;
    $(id).replaceChildren(...learnedModels.map((m) => el("option", { value: m.id }, `${modelLabel(m)} (#${m.id})`)));
    if (previous && learnedModels.some((m) => String(m.id) === previous)) $(id).value = previous;
    else if (learnedModels[pick]) $(id).value = learnedModels[pick].id;
  }
  $("compare").disabled = learnedModels.length < 2;
}

async function compareModels(event) {
  event.preventDefault();
  $("comparison").replaceChildren(el("span", { class: "spinner" }), "Comparing…");
  try {
    const c = await api(`/api/learned-models/compare?a=${encodeURIComponent($("compare-a").value)}&b=${encodeURIComponent($("compare-b").value)}`);
    const row = (label, ref, s) => el("tr", {}, el("td", {}, `${label}: ${ref.name} ${ref.version}`),
      el("td", { class: "num" }, fmt(s.roc_auc, 4)), el("td", { class: "num" }, fmt(s.log_loss, 4)), el("td", { class: "num" }, `${fmt(s.top_decile_lift, 2)}×`));
    const [lo, hi] = c.roc_auc_difference_ci;
    $("comparison").replaceChildren(
      el("table", { id: "comparison-table" },
        el("thead", {}, el("tr", {}, el("th", {}, `${fmt(c.rows)} leads with an outcome`), el("th", { class: "num" }, "ROC-AUC"), el("th", { class: "num" }, "Log-loss"), el("th", { class: "num" }, "Top-decile lift"))),
        el("tbody", {}, row("A", c.a_model, c.a), row("B", c.b_model, c.b))),
      el("p", { id: "verdict" }, el("strong", {}, c.verdict),
        ` (B − A: ROC-AUC ${c.roc_auc_difference >= 0 ? "+" : ""}${fmt(c.roc_auc_difference, 4)}, 95 % paired bootstrap ${fmt(lo, 4)} to ${fmt(hi, 4)})`));
  } catch (error) {
    $("comparison").replaceChildren(el("p", { class: "error", role: "alert" }, `Could not compare: ${explain(error)}`));
  }
}

// ---- queue, policy, activation -----------------------------------------------------------

async function loadQueue() {
  const text = await (await api("/metrics", {}, true)).text();
  const counts = {};
  for (const match of text.matchAll(/^brim_emails\{status="(\w+)"\} (\d+)$/gm)) counts[match[1]] = Number(match[2]);
  $("queue").tBodies[0].replaceChildren(...Object.entries(counts).map(([status, n]) => el("tr", {},
    el("td", {}, el("span", { class: `badge ${status}` }, status)), el("td", { class: "num", "data-status": status }, fmt(n)))));
}

let settings = null;

async function loadSettings() {
  if (!settings) settings = await api("/api/settings");
  $("policy").textContent = `E-mail policy: ${settings.email_policy.summary} (brim serve --email-actions, --email-min-score)`;
}

async function loadActivation() {
  const steps = await api(`/api/analytics/activation-funnel?${periodQuery()}`);
  const first = steps.length ? steps[0].users : 0;
  $("activation").tBodies[0].replaceChildren(...steps.map((s) => el("tr", {}, el("td", {}, s.step.replaceAll("_", " ")),
    el("td", { class: "num" }, fmt(s.users)), el("td", { class: "num" }, first ? `${fmt((100 * s.users) / first, 1)} %` : "–"))),
  ...(steps.every((s) => s.users === 0) ? [el("tr", {}, el("td", { colspan: 3, class: "muted" }, "Nobody went through the activation page in this period."))] : []));
}

// ---- the scored-leads table --------------------------------------------------------------

// Each table request is numbered: a reply overtaken by a newer request (a quick change of
// filter or search) is dropped, so the table always shows the last thing asked for.
let leadsRequest = 0;

async function loadLeads() {
  const request = ++leadsRequest;
  const params = new URLSearchParams({ page: state.page, per_page: state.perPage, sort: state.sort, order: state.order });
  if (state.search) params.set("search", state.search);
  if (state.status) params.set("status", state.status);
  if (state.action) params.set("action", state.action);
  $("total").replaceChildren(el("span", { class: "spinner" }), "Loading…");
  const response = await api(`/api/analytics/scored-leads-table?${params}`, {}, true);
  const rows = await response.json();
  if (request !== leadsRequest) return;
  const total = Number(response.headers.get("x-total-count") || rows.length);
  const pages = Math.max(1, Math.ceil(total / state.perPage));
  $("total").textContent = `${fmt(total)} ${total === 1 ? "company" : "companies"}`;
  $("page").textContent = `page ${state.page} of ${pages}`;
  $("prev").disabled = state.page <= 1;
  $("next").disabled = state.page >= pages;
  const filtered = state.search || state.status || state.action;
  const empty = filtered
    ? "No company matches these filters. Clear the search or choose another status or action."
    : "No scored leads yet. Score some with POST /api/score-company, a batch upload (POST /api/leads/batch-score), or brim serve --import FILE.";
  $("leads").tBodies[0].replaceChildren(...(rows.length ? rows.map((r) => el("tr", { class: "clickable", tabindex: 0, "data-company": r.company_id,
    onclick: () => openLead(r.company_id), onkeydown: (e) => { if (e.key === "Enter") openLead(r.company_id); } },
    el("td", { class: "name", title: r.company_name }, r.company_name), el("td", { class: "num" }, r.score), el("td", { class: "num" }, r.fit_score),
    el("td", { class: "num" }, r.intent_score), el("td", {}, r.action.replaceAll("_", " ")),
    el("td", {}, el("span", { class: `badge ${r.email_status || ""}` }, r.email_status || "none")),
    el("td", {}, r.email_variant_sent || "–"), el("td", {}, when(r.scored_at)))) : [el("tr", {}, el("td", { colspan: 8, class: "muted" }, empty))]));
  for (const button of document.querySelectorAll("#leads th button")) {
    const label = button.textContent.replace(/ [▲▼]$/, "");
    const active = button.dataset.sort === state.sort;
    button.textContent = active ? `${label} ${state.order === "desc" ? "▼" : "▲"}` : label;
    button.parentElement.setAttribute("aria-sort", active ? (state.order === "desc" ? "descending" : "ascending") : "none");
  }
}

// ---- a lead's story ----------------------------------------------------------------------

const closeButton = () => el("button", { class: "secondary", type: "button", onclick: closePanel }, "Close");

function closePanel() { $("detail").classList.add("hidden"); }

async function emailAction(lead, what) {
  try {
    await api(`/api/emails/${lead.email.id}/${what}`, { method: "POST" });
    notice(what === "cancel" ? `The e-mail to ${lead.lead.company_name} was cancelled.` : `The e-mail to ${lead.lead.company_name} is back in the queue.`);
    await openLead(lead.company_id);
    await Promise.all([loadLeads(), loadQueue()]);
  } catch (error) {
    $("detail").append(el("p", { class: "error", role: "alert" }, `Could not ${what === "cancel" ? "cancel" : "re-queue"} the e-mail: ${error.message}`));
  }
}

async function deleteLead(lead) {
  const name = lead.lead.company_name;
  if (!confirm(`Delete ${name} and everything recorded about it (scores, e-mail, events, outcomes)? This cannot be undone.`)) return;
  try {
    await api(`/api/leads/${encodeURIComponent(lead.company_id)}`, { method: "DELETE" });
    closePanel();
    notice(`${name} was deleted.`);
    await loadAll();
  } catch (error) {
    $("detail").append(el("p", { class: "error", role: "alert" }, `Could not delete this lead: ${error.message}`));
  }
}

function rulesTable(report) {
  if (!report.contributions || !report.contributions.length) return null;
  return el("table", { class: "rules" },
    el("thead", {}, el("tr", {}, el("th", {}, "Rule"), el("th", {}, "Category"), el("th", {}, "Outcome"), el("th", { class: "num" }, "Points"))),
    el("tbody", {}, report.contributions.map((c) => el("tr", {},
      el("td", {}, c.rule), el("td", {}, c.category), el("td", {}, c.outcome), el("td", { class: "num" }, c.points)))));
}

function valueOf(lead, field) {
  const v = field.startsWith("attributes.") ? (lead.attributes || {})[field.slice(11)] : lead[field];
  return Array.isArray(v) ? v.join(", ") : String(v);
}

function sourcesSection(lead) {
  const sources = Object.entries(lead.lead.sources || {});
  const enrichButton = settings && settings.enrichment
    ? el("p", { class: "actions" }, el("button", { class: "secondary", type: "button", id: "enrich-lead", onclick: () => enrichLead(lead) },
      `Enrich now from ${settings.enrichment.provider}`))
    : null;
  return [el("h3", {}, "Where the data came from"),
    sources.length
      ? el("table", { class: "rules", id: "sources" },
        el("thead", {}, el("tr", {}, el("th", {}, "Field"), el("th", {}, "Value"), el("th", {}, "From"), el("th", {}, "Fetched"))),
        el("tbody", {}, sources.map(([field, s]) => el("tr", {},
          el("td", {}, field), el("td", {}, valueOf(lead.lead, field)),
          el("td", {}, s.provider, s.id ? el("span", { class: "muted" }, ` (${s.id})`) : ""), el("td", {}, when(s.fetched_at))))))
      : el("p", { class: "muted" }, "Every value is the lead's own: none came from a data provider."),
    enrichButton];
}

async function enrichLead(lead) {
  const button = $("enrich-lead");
  button.disabled = true;
  button.textContent = "Asking the provider…";
  try {
    const done = await api(`/api/leads/${encodeURIComponent(lead.company_id)}/enrich`, { method: "POST" });
    const e = done.enrichment;
    notice(e.status === "found"
      ? `${lead.lead.company_name}: ${e.filled.length ? `filled in ${e.filled.join(", ")}` : "nothing new"} from ${e.provider}; score ${done.score.total_score}.`
      : `${lead.lead.company_name}: ${e.provider} says ${e.status.replaceAll("_", " ")}${e.reason ? ` (${e.reason})` : ""}.`);
    await openLead(lead.company_id);
    await loadLeads();
  } catch (error) {
    $("detail").append(el("p", { class: "error", role: "alert" }, `Could not enrich this lead: ${explain(error)}`));
    button.disabled = false;
  }
}

function learnedSection(report) {
  const l = report.learned;
  if (!l) return null;
  return [el("h4", {}, "Learned model"),
    el("p", { id: "learned-part" }, `${l.model} ${l.version}: ${fmt(100 * l.probability, 1)} % likely to convert. `,
      el("span", { class: "muted" }, `Score ${report.total_score} = ${fmt(100 - 100 * l.weight)} % of the rule score ${l.rule_score} + ${fmt(100 * l.weight)} % of ${fmt(100 * l.probability)}.`)),
    el("ul", { id: "learned-reasons" }, l.contributions.map((c) => el("li", {},
      el("span", { class: c.contribution >= 0 ? "up" : "down" }, c.contribution >= 0 ? "raises " : "lowers "), `${c.feature} (${c.contribution >= 0 ? "+" : ""}${fmt(c.contribution, 2)} log-odds)`)))];
}

function emailSection(lead) {
  const email = lead.email;
  if (!email) {
    return el("p", { class: "muted" }, settings
      ? `No e-mail. ${settings.email_policy.summary}`
      : "No e-mail yet.");
  }
  const actions = [];
  if (email.status === "waiting" || email.status === "queued") {
    actions.push(el("button", { class: "secondary", type: "button", id: "cancel-email", onclick: () => emailAction(lead, "cancel") }, "Cancel e-mail"));
  }
  if (email.status === "dead") {
    actions.push(el("button", { class: "secondary", type: "button", id: "requeue-email", onclick: () => emailAction(lead, "requeue") }, "Re-queue e-mail"));
  }
  return [
    el("p", {}, el("span", { class: `badge ${email.status}`, id: "email-status" }, email.status),
      ` · variant ${email.variant} · written by ${email.writer}`, email.attempts ? ` · ${email.attempts} ${email.attempts === 1 ? "attempt" : "attempts"}` : ""),
    email.waits_because ? el("p", { class: "muted" }, `Waits because ${email.waits_because}; planned ${when(email.planned_send_at)}`) : null,
    email.sent_at ? el("p", { class: "muted" }, `Sent ${when(email.sent_at)}`) : null,
    email.last_error ? el("p", { class: "down" }, `Last error: ${email.last_error}`) : null,
    actions.length ? el("p", { class: "actions" }, actions) : null,
    el("div", { class: "mail" },
      el("p", {}, el("span", { class: "muted" }, "To: "), email.recipient || "(no contact yet: the e-mail waits for one)"),
      el("p", {}, el("span", { class: "muted" }, "Subject: "), el("strong", {}, email.subject)),
      el("pre", {}, email.text)),
  ];
}

async function openLead(companyId) {
  const panel = $("detail");
  panel.classList.remove("hidden");
  panel.replaceChildren(closeButton(), el("p", {}, el("span", { class: "spinner" }), "Loading…"));
  try {
    const lead = await api(`/api/leads/${encodeURIComponent(companyId)}`);
    const latest = lead.scores[0]; // newest first
    const report = latest ? latest.report : null;
    const list = (items) => items.length ? el("ul", {}, items.map((t) => el("li", {}, t))) : el("p", { class: "muted" }, "none");
    // Sections are arrays or null when they do not apply: flattened and dropped here, since
    // replaceChildren would show an array as "[object HTMLElement],..." and null as "null".
    const shown = (...parts) => parts.flat(2).filter((part) => part !== null && part !== undefined && part !== false);
    panel.replaceChildren(...shown(
      el("div", { class: "panel-bar" }, closeButton(),
        el("button", { class: "danger", type: "button", id: "delete-lead", onclick: () => deleteLead(lead) }, "Delete lead")),
      el("h2", {}, lead.lead.company_name),
      report ? el("p", {}, `Score ${report.total_score} (fit ${report.fit_score}, intent ${report.intent_score}) · ${report.action.replaceAll("_", " ")} · model ${report.model}${report.learned ? ` blended with ${report.learned.model} ${report.learned.version}` : ""}`) : null,
      report ? [el("h3", {}, "Why"), el("strong", {}, "For"), list(report.reasoning.positive), el("strong", {}, "Against"), list(report.reasoning.negative),
        el("strong", {}, "Missing"), list(report.reasoning.missing), el("h4", {}, "Rules"), rulesTable(report), learnedSection(report),
        el("h4", {}, "Signals"),
        list((lead.signals || []).map((s) => `${s.kind.replaceAll("_", " ")}: “${s.text}” (${s.source.replaceAll("_", " ")})`))] : null,
      sourcesSection(lead),
      el("h3", {}, `Score history (${lead.scores.length})`),
      list(lead.scores.map((s) => `${when(s.scored_at)}: ${s.report.total_score} with ${s.report.model}`)),
      el("h3", {}, "E-mail"),
      emailSection(lead),
      el("h3", {}, `Events (${lead.events.length})`),
      list(lead.events.map((e) => `${when(e.occurred_at)} ${e.event_type.replaceAll("_", " ")}`)),
      lead.outcomes.length ? [el("h3", {}, "Outcomes"), list(lead.outcomes.map((o) => `${when(o.at)} ${o.outcome.replaceAll("_", " ")}`))] : null));
    panel.dataset.company = companyId;
  } catch (error) {
    panel.replaceChildren(closeButton(),
      el("p", { class: "error" }, error instanceof ApiError && error.status === 404
        ? "This lead no longer exists (it was deleted). Refresh the table."
        : `Could not load this lead: ${explain(error)}`));
  }
}

// ---- loading -----------------------------------------------------------------------------

async function loadAll() {
  $("error").classList.add("hidden");
  document.body.dataset.loaded = "false";
  $("period-label").textContent = periodLabel();
  try {
    await Promise.all([loadSettings(), loadLearned(), loadKpis(), loadFunnel(), loadDistribution(), loadVariants(), loadQueue(), loadActivation(), loadLeads()]);
    $("key-form").classList.add("hidden");
    $("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
    document.body.dataset.loaded = "true";
  } catch (error) {
    showError(error);
    document.body.dataset.loaded = "error";
  }
}

function reloadLeads() { loadLeads().catch(showError); }

$("days").addEventListener("change", choosePeriod);
$("range").addEventListener("submit", applyRange);
$("refresh").addEventListener("click", loadAll);
$("compare-form").addEventListener("submit", compareModels);
$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(KEY_STORE, $("key").value.trim());
  loadAll();
});
let searchTimer;
$("search").addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => { state.search = $("search").value.trim(); state.page = 1; reloadLeads(); }, 250);
});
$("status").addEventListener("change", () => { state.status = $("status").value; state.page = 1; reloadLeads(); });
$("action").addEventListener("change", () => { state.action = $("action").value; state.page = 1; reloadLeads(); });
$("prev").addEventListener("click", () => { state.page -= 1; reloadLeads(); });
$("next").addEventListener("click", () => { state.page += 1; reloadLeads(); });
for (const button of document.querySelectorAll("#leads th button")) {
  button.addEventListener("click", () => {
    const sort = button.dataset.sort;
    state.order = state.sort === sort ? (state.order === "desc" ? "asc" : "desc") : FIRST_ORDER[sort];
    state.sort = sort;
    state.page = 1;
    reloadLeads();
  });
}
document.addEventListener("keydown", (e) => { if (e.key === "Escape") closePanel(); });
loadAll();
setInterval(() => { if (!document.hidden && $("detail").classList.contains("hidden")) loadAll(); }, 30000);
