// The activation page: upload → result → share. Each step reached is logged as an activation
// event under an anonymous id kept in this browser.
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

let lastResult = null;

async function score(body, name, bytes) {
  $("error").classList.add("hidden");
  $("working").classList.remove("hidden");
  await logStep("file_upload", { file_name: name, bytes });
  try {
    const result = await api("/api/activation/try", { method: "POST", body });
    lastResult = result;
    render(result);
    showStep("result");
    document.body.dataset.step = "result";
    await logStep("result_viewed", { leads: result.scored.length, failures: result.failures.length });
  } catch (error) {
    $("error").textContent = error.body && error.body.error === "invalid"
      ? `We could not read this file: ${error.message}` : `Scoring failed: ${error.message}`;
    $("error").classList.remove("hidden");
  } finally {
    $("working").classList.add("hidden");
  }
}

function render(result) {
  const n = result.scored.length;
  $("result-title").textContent = `${n} ${n === 1 ? "company" : "companies"} scored, best first`;
  $("results").tBodies[0].replaceChildren(...result.scored.map((r) => el("tr", {},
    el("td", {}, r.company_name), el("td", { class: "num" }, r.total_score),
    el("td", {}, r.action.replaceAll("_", " ")),
    el("td", {}, r.reasoning.positive[0] || r.reasoning.negative[0] || "–"))));
  const failures = $("failures");
  failures.classList.toggle("hidden", result.failures.length === 0);
  failures.querySelector("ul").replaceChildren(...result.failures.map((f) => el("li", {}, `${f.at}: ${f.error}`)));
}

function summary(result) {
  const top = result.scored.slice(0, 5).map((r, i) => `${i + 1}. ${r.company_name}: ${r.total_score}/100, ${r.action.replaceAll("_", " ")}`);
  return [`Brim scored ${result.scored.length} companies. Contact first:`, ...top].join("\n");
}

$("file").addEventListener("change", () => {
  const file = $("file").files[0];
  if (file) score(file, file.name, file.size);
});
const drop = $("drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  const file = e.dataTransfer.files[0];
  if (file) score(file, file.name, file.size);
});
$("sample").addEventListener("click", () => {
  const text = JSON.stringify(SAMPLE);
  score(text, "sample.json", text.length);
});
$("again").addEventListener("click", () => { $("file").value = ""; showStep("upload"); });
$("to-share").addEventListener("click", async () => {
  $("share-text").textContent = summary(lastResult);
  showStep("share");
  document.body.dataset.step = "share";
  await logStep("share_step_reached", { leads: lastResult.scored.length });
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
