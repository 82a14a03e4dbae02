// The dashboard: KPI cards, charts and tables drawn from the analytics API.
"use strict";

const state = { page: 1, perPage: 25, sort: "score", order: "desc", search: "", status: "" };

const KPIS = [
  ["qualified-leads", "Qualified leads", ""],
  ["email-engagement", "E-mail click-through", " %"],
  ["new-activations", "New activations", ""],
  ["funnel-conversion-rate", "Funnel conversion", " %"],
];

function showError(error) {
  if (error instanceof ApiError && error.status === 401) {
    $("key-form").classList.remove("hidden");
    return;
  }
  $("error").textContent = `Could not load: ${error.message}`;
  $("error").classList.remove("hidden");
}

function days() { return $("days").value; }

async function loadKpis() {
  const cards = await Promise.all(KPIS.map(([metric]) => api(`/api/analytics/kpi/${metric}?days=${days()}`)));
  $("kpis").replaceChildren(...cards.map((card, i) => {
    const [metric, label, unit] = KPIS[i];
    const change = card.percentage_change;
    let changeNode;
    if (change === null) changeNode = el("span", { class: "flat" }, "new this period");
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
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img", "aria-label": "qualified leads and activations per day" });
  for (const frac of [0, 0.5, 1]) {
    const v = Math.round(max * frac);
    chart.append(svg("line", { x1: left, x2: width - 4, y1: y(v), y2: y(v), stroke: "#e3e6ec" }),
      svg("text", { x: 2, y: y(v) + 4 }, fmt(v)));
  }
  const step = Math.max(1, Math.ceil(points.length / 6));
  points.forEach((p, i) => {
    const last = i === points.length - 1;
    if (i % step === 0 || last) chart.append(svg("text", { x: x(i), y: height - 4, "text-anchor": last ? "end" : i === 0 ? "start" : "middle" }, p.date.slice(5)));
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
  const points = await api(`/api/analytics/funnel-over-time?days=${days()}`);
  $("funnel-chart").replaceChildren(lineChart(points, [
    { key: "qualified_leads", color: "#2f6fed", label: "qualified leads" },
    { key: "activations", color: "#1f8a4c", label: "activations" },
  ]));
}

async function loadDistribution() {
  const bins = await api("/api/analytics/score-distribution");
  const width = 560, height = 220, bottom = 22, top = 14;
  const max = Math.max(1, ...bins.map((b) => b.companies));
  const bar = (width - 10) / Math.max(1, bins.length);
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img", "aria-label": "score distribution" });
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

async function loadVariants() {
  const rows = await api(`/api/analytics/email-performance?days=${days()}`);
  $("variants").tBodies[0].replaceChildren(...(rows.length ? rows.map((r) => el("tr", {},
    el("td", {}, r.variant), el("td", { class: "num" }, fmt(r.sent)),
    el("td", { class: "num" }, `${fmt(r.opened)} (${fmt(r.open_rate, 1)} %)`),
    el("td", { class: "num" }, `${fmt(r.clicked)} (${fmt(r.click_rate, 1)} %)`))) : [el("tr", {}, el("td", { colspan: 4, class: "muted" }, "No e-mails sent in this period."))]));
}

async function loadQueue() {
  const text = await (await api("/metrics", {}, true)).text();
  const counts = {};
  for (const match of text.matchAll(/^brim_emails\{status="(\w+)"\} (\d+)$/gm)) counts[match[1]] = Number(match[2]);
  $("queue").tBodies[0].replaceChildren(...Object.entries(counts).map(([status, n]) => el("tr", {},
    el("td", {}, el("span", { class: `badge ${status}` }, status)), el("td", { class: "num", "data-status": status }, fmt(n)))));
}

async function loadActivation() {
  const steps = await api(`/api/analytics/activation-funnel?days=${days()}`);
  $("activation").tBodies[0].replaceChildren(...steps.map((s) => el("tr", {}, el("td", {}, s.step), el("td", { class: "num" }, fmt(s.users)))));
}

async function loadLeads() {
  const params = new URLSearchParams({ page: state.page, per_page: state.perPage, sort: state.sort, order: state.order });
  if (state.search) params.set("search", state.search);
  if (state.status) params.set("status", state.status);
  const response = await api(`/api/analytics/scored-leads-table?${params}`, {}, true);
  const rows = await response.json();
  const total = Number(response.headers.get("x-total-count") || rows.length);
  const pages = Math.max(1, Math.ceil(total / state.perPage));
  $("total").textContent = `${fmt(total)} companies`;
  $("page").textContent = `page ${state.page} of ${pages}`;
  $("prev").disabled = state.page <= 1;
  $("next").disabled = state.page >= pages;
  $("leads").tBodies[0].replaceChildren(...(rows.length ? rows.map((r) => el("tr", { class: "clickable", tabindex: 0, "data-company": r.company_id,
    onclick: () => openLead(r.company_id), onkeydown: (e) => { if (e.key === "Enter") openLead(r.company_id); } },
    el("td", {}, r.company_name), el("td", { class: "num" }, r.score), el("td", { class: "num" }, r.fit_score),
    el("td", { class: "num" }, r.intent_score), el("td", {}, r.action.replaceAll("_", " ")),
    el("td", {}, el("span", { class: `badge ${r.email_status || ""}` }, r.email_status || "none")),
    el("td", {}, r.email_variant_sent || "–"), el("td", {}, when(r.scored_at)))) : [el("tr", {}, el("td", { colspan: 8, class: "muted" }, "No scored leads yet. Score some with POST /api/score-company or a batch upload."))]));
  for (const button of document.querySelectorAll("#leads th button")) {
    const label = button.textContent.replace(/ [▲▼]$/, "");
    button.textContent = button.dataset.sort === state.sort ? `${label} ${state.order === "desc" ? "▼" : "▲"}` : label;
  }
}

async function openLead(companyId) {
  const panel = $("detail");
  panel.classList.remove("hidden");
  panel.replaceChildren(el("p", {}, el("span", { class: "spinner" }), "Loading…"));
  try {
    const lead = await api(`/api/leads/${encodeURIComponent(companyId)}`);
    const latest = lead.scores[lead.scores.length - 1];
    const report = latest ? latest.report : null;
    const list = (items) => items.length ? el("ul", {}, items.map((t) => el("li", {}, t))) : el("p", { class: "muted" }, "none");
    // Sections are arrays or null when they do not apply: flattened and dropped here, since
    // replaceChildren would show an array as "[object HTMLElement],..." and null as "null".
    const shown = (...parts) => parts.flat().filter((part) => part !== null && part !== undefined && part !== false);
    panel.replaceChildren(...shown(
      el("button", { class: "secondary", type: "button", onclick: () => panel.classList.add("hidden") }, "Close"),
      el("h2", {}, lead.lead.company_name),
      report ? el("p", {}, `Score ${report.total_score} (fit ${report.fit_score}, intent ${report.intent_score}) · ${report.action.replaceAll("_", " ")} · model ${report.model}`) : null,
      report ? [el("h3", {}, "Why"), el("strong", {}, "For"), list(report.reasoning.positive), el("strong", {}, "Against"), list(report.reasoning.negative),
        el("strong", {}, "Missing"), list(report.reasoning.missing)] : null,
      el("h3", {}, `Score history (${lead.scores.length})`),
      list(lead.scores.map((s) => `${when(s.scored_at)}: ${s.report.total_score} with ${s.report.model}`)),
      el("h3", {}, "E-mail"),
      lead.email ? [
        el("p", {}, el("span", { class: `badge ${lead.email.status}` }, lead.email.status), ` to ${lead.email.recipient || "(no contact yet)"} · variant ${lead.email.variant} · written by ${lead.email.writer}`),
        lead.email.waits_because ? el("p", { class: "muted" }, `Waits because ${lead.email.waits_because}; planned ${when(lead.email.planned_send_at)}`) : null,
        lead.email.last_error ? el("p", { class: "down" }, `Last error: ${lead.email.last_error}`) : null,
        el("p", {}, el("strong", {}, lead.email.subject)), el("pre", {}, lead.email.text)]
        : el("p", { class: "muted" }, "No e-mail yet."),
      el("h3", {}, `Events (${lead.events.length})`),
      list(lead.events.map((e) => `${when(e.occurred_at)} ${e.event_type}`)),
      lead.outcomes.length ? [el("h3", {}, "Outcomes"), list(lead.outcomes.map((o) => `${when(o.at)} ${o.outcome}`))] : null));
  } catch (error) {
    panel.replaceChildren(el("button", { class: "secondary", type: "button", onclick: () => panel.classList.add("hidden") }, "Close"),
      el("p", { class: "error" }, `Could not load this lead: ${error.message}`));
  }
}

async function loadAll() {
  $("error").classList.add("hidden");
  try {
    await Promise.all([loadKpis(), loadFunnel(), loadDistribution(), loadVariants(), loadQueue(), loadActivation(), loadLeads()]);
    $("key-form").classList.add("hidden");
    $("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
    document.body.dataset.loaded = "true";
  } catch (error) {
    showError(error);
  }
}

$("days").addEventListener("change", loadAll);
$("refresh").addEventListener("click", loadAll);
$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(KEY_STORE, $("key").value.trim());
  loadAll();
});
let searchTimer;
$("search").addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => { state.search = $("search").value.trim(); state.page = 1; loadLeads().catch(showError); }, 250);
});
$("status").addEventListener("change", () => { state.status = $("status").value; state.page = 1; loadLeads().catch(showError); });
$("prev").addEventListener("click", () => { state.page -= 1; loadLeads().catch(showError); });
$("next").addEventListener("click", () => { state.page += 1; loadLeads().catch(showError); });
for (const button of document.querySelectorAll("#leads th button")) {
  button.addEventListener("click", () => {
    const sort = button.dataset.sort;
    state.order = state.sort === sort && state.order === "desc" ? "asc" : "desc";
    state.sort = sort;
    state.page = 1;
    loadLeads().catch(showError);
  });
}
document.addEventListener("keydown", (e) => { if (e.key === "Escape") $("detail").classList.add("hidden"); });
loadAll();
setInterval(() => { if (!document.hidden) loadAll(); }, 30000);
