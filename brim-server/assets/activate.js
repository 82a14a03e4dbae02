// The activation page: upload → result → share. The file is scored in this browser by brim-wasm
// in a Web Worker (activate-worker.js); the server only hears of the steps reached, each logged
// as an activation event under an anonymous id kept in this browser.
"use strict";

const USER_STORE = "brim-activation-user";

function userId() {
  let id = localStorage.getItem(USER_STORE);
  if (!id) {
    id = "anon-" + (crypto.randomUUID ? crypto.randomUUID()
      : Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join(""));
    localStorage.setItem(USER_STORE, id);
  }
  return id;
}

// Logging never blocks the visitor: a failed log is reported in the console only.
function logStep(step, metadata) {
  return api("/api/activation/log-event", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ user_id: userId(), step_name: step, metadata: metadata || {} }),
  }).catch((error) => console.warn(`could not log ${step}: ${error.message}`));
}

function showStep(step) {
  const order = ["upload", "result", "share"];
  for (const li of $("steps").children) {
    const i = order.indexOf(li.dataset.step);
    li.className = i < order.indexOf(step) ? "done" : i === order.indexOf(step) ? "active" : "";
  }
  $("upload-step").classList.toggle("hidden", step !== "upload");
  $("result-step").classList.toggle("hidden", step === "upload");
  $("share-step").classList.toggle("hidden", step !== "share");
}

const SAMPLE = [
  { company_name: "Northwind Freight", employee_count: 180, industry: "Logistics", funding_stage: "Series B",
    tech_stack: ["Salesforce", "Zapier"], recent_job_posts: ["Head of Operations", "Sales Operations Manager"],
    news_mentions: ["Northwind Freight raises $40M Series B to expand into Europe"] },
  { company_name: "Pixel Pantry", employee_count: 35, industry: "E-commerce", funding_stage: "Seed",
    tech_stack: ["Shopify"], recent_job_posts: ["Customer Support Agent"], news_mentions: [] },
  { company_name: "Ledgerly", employee_count: 90, industry: "Fintech", funding_stage: "Series A",
    tech_stack: ["HubSpot", "AWS"], recent_job_posts: ["VP of Sales"], news_mentions: ["Ledgerly opens a London office"] },
  { company_name: "Old Mill Bakery", employee_count: 12, industry: "Food" },
  { company_name: "CloudNest", employee_count: 450, industry: "SaaS", funding_stage: "Series C",
    tech_stack: ["Salesforce", "Segment", "AWS"], recent_job_posts: ["Revenue Operations Lead"],
    news_mentions: ["CloudNest announces layoffs of 10% of staff"] },
];

const PAGE_SIZE = 50;
// Scoring happens in this worker (brim-wasm): the file is read there, never sent anywhere.
let worker = null;
let result = null;
let started = 0;

function startWorker() {
  worker = new Worker("/assets/activate-worker.js", { type: "module" });
  worker.onmessage = ({ data }) => handlers[data.type](data);
  // A worker that cannot start, or cannot load brim-wasm (not in this build, or no
  // WebAssembly), says so here.
  worker.onerror = (event) => {
    event.preventDefault();
    unavailable(event.message);
  };
}

function unavailable(detail) {
  fail("This page could not start its in-browser scorer" + (detail ? ` (${detail})` : "") +
    ". Try a current browser; if this is your own brim server, build it with scripts/build-wasm.");
  worker = null;
}

function fail(message) {
  $("error").textContent = message;
  $("error").classList.remove("hidden");
  $("working").classList.add("hidden");
}

const handlers = {
  progress({ done, total }) {
    $("progress").value = total ? done / total : 1;
    $("progress-text").textContent = `Scoring your leads… ${fmt(done / 1e6, 1)} of ${fmt(total / 1e6, 1)} MB read`;
  },
  done(data) {
    result = data;
    $("working").classList.add("hidden");
    renderSummary(data);
    renderPage(data);
    showStep("result");
    document.body.dataset.step = "result";
    document.body.dataset.scoreMs = String(Math.round(performance.now() - started));
    logStep("result_viewed", { leads: data.count, failures: data.failureCount });
  },
  page(data) {
    renderPage(data);
  },
  csv({ blob }) {
    const link = el("a", { href: URL.createObjectURL(blob), download: "brim-scores.csv" });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 60000);
  },
  error({ message }) {
    fail(`We could not read this file: ${message}`);
  },
  unavailable({ message }) {
    unavailable(message);
  },
};

function score(file) {
  $("error").classList.add("hidden");
  if (!worker) startWorker();
  if (!worker) return;
  started = performance.now();
  $("progress").value = 0;
  $("progress-text").textContent = "Scoring your leads…";
  $("working").classList.remove("hidden");
  // What is logged is the size only: not the file's name, not its content.
  logStep("file_upload", { bytes: file.size });
  worker.postMessage({ type: "score", file, pageSize: PAGE_SIZE });
}

function renderSummary(data) {
  const n = data.count;
  $("result-title").textContent = `${fmt(n)} ${n === 1 ? "company" : "companies"} scored, best first`;
  const failures = $("failures");
  failures.classList.toggle("hidden", data.failureCount === 0);
  const where = data.unit === "item" ? "Item" : "Line";
  $("failures-title").textContent = `${fmt(data.failureCount)} ${data.failureCount === 1 ? "row" : "rows"} we could not read (the others were scored)`;
  const items = data.failures.map((f) => el("li", {}, `${where} ${f.row}: ${f.field}: ${f.message}`));
  if (data.failureCount > data.failures.length) items.push(el("li", { class: "muted" }, `and ${fmt(data.failureCount - data.failures.length)} more`));
  failures.querySelector("ul").replaceChildren(...items);
}

function renderPage(data) {
  const body = $("results").tBodies[0];
  body.replaceChildren(...data.rows.map((r, i) => {
    const s = r.score;
    const row = el("tr", { class: "clickable", tabindex: 0, "aria-expanded": "false" },
      el("td", { class: "num" }, data.page * data.pageSize + i + 1),
      el("td", {}, s.company_name), el("td", { class: "num" }, s.total_score),
      el("td", { class: "num" }, s.fit_score), el("td", { class: "num" }, s.intent_score),
      el("td", {}, s.action.replaceAll("_", " ")),
      el("td", {}, s.reasoning.positive[0] || s.reasoning.negative[0] || "–"));
    const toggle = () => toggleExplanation(row, s);
    row.addEventListener("click", toggle);
    row.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); toggle(); } });
    return row;
  }));
  $("page-info").textContent = `Page ${data.page + 1} of ${data.pages}`;
  $("prev").disabled = data.page === 0;
  $("next").disabled = data.page + 1 >= data.pages;
  $("prev").dataset.page = data.page - 1;
  $("next").dataset.page = data.page + 1;
}

function reasonList(title, items) {
  return el("div", {}, el("h4", {}, title),
    items.length ? el("ul", {}, items.map((t) => el("li", {}, t))) : el("p", { class: "muted" }, "none"));
}

function toggleExplanation(row, s) {
  const next = row.nextElementSibling;
  if (next && next.classList.contains("explain")) {
    next.remove();
    row.setAttribute("aria-expanded", "false");
    return;
  }
  row.setAttribute("aria-expanded", "true");
  const parts = s.contributions.map((c) => `${c.rule} (${c.category}): ${c.outcome}, ${c.points} points` +
    (c.counted === false ? ", not counted" : ""));
  row.after(el("tr", { class: "explain" }, el("td", { colspan: 7 },
    el("div", { class: "reasons" },
      reasonList("For", s.reasoning.positive), reasonList("Against", s.reasoning.negative),
      reasonList("Missing from the file", s.reasoning.missing), reasonList("Rules", parts)),
    el("p", { class: "muted" }, `Fit ${s.fit_score}, intent ${s.intent_score}, confidence ${fmt(s.confidence * 100)} %, model ${s.model} v${s.model_version}.`))));
}

function summary(data) {
  const top = data.top.map((r, i) => `${i + 1}. ${r.company_name}: ${r.total_score}/100, ${r.action.replaceAll("_", " ")}`);
  return [`Brim scored ${fmt(data.count)} companies. Contact first:`, ...top].join("\n");
}

$("file").addEventListener("change", () => {
  const file = $("file").files[0];
  if (file) score(file);
});
const drop = $("drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  const file = e.dataTransfer.files[0];
  if (file) score(file);
});
$("sample").addEventListener("click", () => {
  score(new File([JSON.stringify(SAMPLE)], "sample.json", { type: "application/json" }));
});
for (const id of ["prev", "next"]) {
  $(id).addEventListener("click", () => worker.postMessage({ type: "page", page: Number($(id).dataset.page), pageSize: PAGE_SIZE }));
}
$("download").addEventListener("click", () => worker.postMessage({ type: "csv" }));
$("again").addEventListener("click", () => { $("file").value = ""; showStep("upload"); });
$("to-share").addEventListener("click", async () => {
  $("share-text").textContent = summary(result);
  showStep("share");
  document.body.dataset.step = "share";
  await logStep("share_step_reached", { leads: result.count });
});
$("copy").addEventListener("click", async () => {
  try {
    await navigator.clipboard.writeText($("share-text").textContent);
    $("copied").textContent = "Copied.";
  } catch (_) {
    $("copied").textContent = "Select the text and copy it.";
  }
});
userId();
startWorker();
