// Headless-Chromium checks of the dashboard and the activation page, run by
// brim-server/tests/browser.rs against a `brim serve` it started and filled with leads.
//   node pages.mjs BASE_URL KEYED_BASE_URL API_KEY SCREENSHOT_DIR
import { chromium } from "playwright-core";
import assert from "node:assert/strict";

const [base, keyedBase, apiKey, shots] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
});
const failures = [];

async function page(name, fn) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
  const p = await context.newPage();
  const errors = [];
  p.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
  p.on("console", (m) => { if (m.type() === "error") errors.push(`console: ${m.text()}`); });
  p.on("requestfailed", (r) => errors.push(`request failed: ${r.url()}`));
  try {
    await fn(p, errors);
    assert.deepEqual(errors, [], "no script errors, no failed requests");
    console.log(`ok   ${name}`);
  } catch (e) {
    failures.push(name);
    console.log(`FAIL ${name}\n${e.stack}`);
    await p.screenshot({ path: `${shots}/failed-${name.replace(/\W+/g, "-")}.png`, fullPage: true }).catch(() => {});
  } finally {
    await context.close();
  }
}

/** Waits for the dashboard to finish loading (every panel drawn). */
async function loaded(p) {
  await p.waitForSelector("body[data-loaded=true]", { timeout: 15000 });
}

/** Visible text must never show a JavaScript value instead of data. */
async function noJsValues(p, selector) {
  const text = await p.locator(selector).innerText();
  for (const bad of ["[object ", "undefined", "null", "NaN"]) {
    assert.ok(!text.includes(bad), `${selector} shows ${JSON.stringify(bad)}: ${text}`);
  }
  return text;
}

/** Waits for the table to show rows, every one of them with action `action`. */
async function onlyAction(p, action) {
  await p.waitForFunction((action) => {
    const cells = [...document.querySelectorAll("#leads tbody tr.clickable td:nth-child(5)")];
    return cells.length > 0 && cells.every((td) => td.textContent === action);
  }, action);
}

/** Types into the search box and waits for the table to show `n` rows. */
async function search(p, text, n) {
  await p.fill("#search", text);
  await p.waitForFunction(([t, n]) => document.querySelectorAll("#leads tbody tr.clickable").length === n
    && [...document.querySelectorAll("#leads tbody td.name")].every((td) => td.textContent.toLowerCase().includes(t.toLowerCase())), [text, n]);
}

await page("dashboard shows KPIs, charts, A/B results, the queue and its policy, and the scored leads", async (p) => {
  await p.goto(`${base}/`);
  await loaded(p);
  assert.equal(await p.locator("#kpis .card").count(), 4);
  const qualified = await p.locator('[data-metric="qualified-leads"] .value').textContent();
  assert.equal(Number(qualified), Number(process.env.EXPECT_QUALIFIED), "qualified leads card");
  assert.equal(await p.locator('#funnel-chart polyline').count(), 2, "two series in the funnel chart");
  assert.match(await p.locator("#funnel-chart svg").getAttribute("aria-label"), /qualified leads and \d+ activations in all/);
  assert.equal(await p.locator('#distribution-chart rect').count(), 10, "ten score bins");
  assert.match(await p.locator("#distribution-chart svg title").first().textContent(), new RegExp(`of ${process.env.EXPECT_LEADS} companies`));
  const rows = p.locator("#leads tbody tr");
  assert.equal(await rows.count(), 25, "first page of 25");
  assert.match(await p.locator("#total").textContent(), new RegExp(`^${process.env.EXPECT_LEADS} companies`));
  // Best first: scores descend.
  const scores = (await p.locator("#leads tbody tr td:nth-child(2)").allTextContents()).map(Number);
  assert.deepEqual(scores, [...scores].sort((a, b) => b - a));
  // The policy in force, in words.
  assert.match(await p.locator("#policy").textContent(),
    /E-mail policy: Only leads whose action is high priority outreach or medium priority outreach get an e-mail\./);
  assert.match(await p.locator("#period-label").textContent(), /^The last 30 days \(since \d{4}-\d\d-\d\d \d\d:\d\d UTC\), compared with the 30 days before$/);
  // A/B results: each variant's rates with intervals and a verdict.
  await p.waitForFunction(() => document.querySelectorAll("#variants tbody tr[data-variant]").length > 0);
  for (const row of await p.locator("#variants tbody tr[data-variant]").all()) {
    const cells = await row.locator("td").allTextContents();
    assert.match(cells[2], /^\d+(\.\d)? % \(\d+(\.\d)?–\d+(\.\d)? %\)$/, `open rate with its interval: ${cells[2]}`);
    assert.match(cells[3], /^\d+(\.\d)? % \(\d+(\.\d)?–\d+(\.\d)? %\)$/, `click rate with its interval: ${cells[3]}`);
    assert.match(cells[4], /best click rate so far|no clear difference|same click rate|a real difference/, cells[4]);
  }
  await noJsValues(p, "main");
  await p.screenshot({ path: `${shots}/dashboard.png`, fullPage: true });
});

await page("the table sorts both ways, filters, searches and pages", async (p) => {
  await p.goto(`${base}/dashboard`);
  await loaded(p);
  const names = () => p.locator("#leads tbody tr td:first-child").allTextContents();
  const byName = (a, b) => a.localeCompare(b, "en", { sensitivity: "base" });
  // The first click on Company sorts A→Z; the second Z→A.
  await p.click('#leads th button[data-sort="name"]');
  await p.waitForFunction(() => document.querySelector('#leads th button[data-sort="name"]').textContent.includes("▲"));
  let shown = await names();
  assert.deepEqual(shown, [...shown].sort(byName), "names ascending");
  assert.equal(await p.locator('#leads th:has(button[data-sort="name"])').getAttribute("aria-sort"), "ascending");
  await p.click('#leads th button[data-sort="name"]');
  await p.waitForFunction(() => document.querySelector('#leads th button[data-sort="name"]').textContent.includes("▼"));
  shown = await names();
  assert.deepEqual(shown, [...shown].sort((a, b) => byName(b, a)), "names descending");
  // Score: best first, then worst first.
  await p.click('#leads th button[data-sort="score"]');
  await p.waitForFunction(() => document.querySelector('#leads th button[data-sort="score"]').textContent.includes("▼"));
  await p.click('#leads th button[data-sort="score"]');
  await p.waitForFunction(() => document.querySelector('#leads th button[data-sort="score"]').textContent.includes("▲"));
  const scores = (await p.locator("#leads tbody tr td:nth-child(2)").allTextContents()).map(Number);
  assert.deepEqual(scores, [...scores].sort((a, b) => a - b), "scores ascending");
  // Filters: by e-mail status, by action; a lead to monitor has no e-mail (the policy).
  await p.selectOption("#status", "dead");
  await p.waitForFunction(() => document.getElementById("total").textContent === "1 company");
  assert.deepEqual(await names(), ["Bounce Corp"]);
  await p.selectOption("#status", "waiting");
  await p.waitForFunction(() => document.querySelector("#leads tbody td")?.textContent === "Waiting Inc");
  await p.selectOption("#status", "");
  await p.selectOption("#action", "low_priority_monitoring");
  await onlyAction(p, "low priority monitoring");
  const emails = await p.locator("#leads tbody tr.clickable td:nth-child(6)").allTextContents();
  assert.ok(emails.length > 0, "some leads are to monitor");
  assert.ok(emails.every((e) => e === "none"), `a lead to monitor got an e-mail: ${emails}`);
  await p.selectOption("#action", "");
  await p.waitForFunction((n) => document.getElementById("total").textContent === `${n} companies`, process.env.EXPECT_LEADS);
  // Pages.
  await p.click("#next");
  await p.waitForFunction(() => document.getElementById("page").textContent.startsWith("page 2"));
  assert.equal(await p.locator("#prev").isDisabled(), false);
  // Search; a search that finds nothing says so.
  await search(p, "Globex", 1);
  assert.deepEqual(await names(), ["Globex Logistics"]);
  await p.fill("#search", "no such company");
  await p.waitForFunction(() => /No company matches/.test(document.querySelector("#leads tbody").textContent));
  // The longest name allowed keeps the table usable: cut with an ellipsis, every column on screen.
  await search(p, "Longest Name", 1);
  const table = await p.locator("#leads").boundingBox();
  const lastHeader = await p.locator("#leads th").last().boundingBox();
  assert.ok(lastHeader.x + lastHeader.width <= table.x + table.width + 1, "the last column is inside the table");
  assert.ok(table.x + table.width <= 1280, "the table fits the window");
  const cell = await p.locator("#leads tbody td.name").boundingBox();
  assert.ok(cell.width < table.width * 0.4, `the name column takes ${cell.width} of ${table.width}`);
  assert.match(await p.locator("#leads tbody td.name").getAttribute("title"), /^Longest Name x+$/, "the whole name in the tooltip");
});

await page("a lead's panel shows why it scored so, its history, its e-mail as it will be sent and its events", async (p) => {
  await p.goto(`${base}/`);
  await loaded(p);
  await search(p, "Globex", 1);
  await p.click("#leads tbody tr");
  await p.waitForSelector("#detail h2");
  assert.equal(await p.locator("#detail h2").textContent(), "Globex Logistics");
  const detail = await noJsValues(p, "#detail");
  assert.match(detail, /Score \d+ \(fit \d+, intent \d+\)/);
  assert.match(detail, /Why\s+For/);
  assert.match(detail, /Against/);
  assert.match(detail, /Missing/);
  assert.ok(await p.locator("#detail ul li").count() > 0, "the reasons are list items");
  assert.ok(await p.locator("#detail table.rules tbody tr").count() > 0, "the rules that fired");
  assert.match(detail, /company_size\s+fit\s+matched/);
  // The intent signal behind ops_hiring, with its evidence.
  assert.match(detail, /Signals\n[^]*ops hiring: “Head of Operations” \(recent job posts\)\nWhere the data came from\n[^]*Score history/);
  assert.match(detail, /Score history \(1\)/);
  assert.match(detail, /Events \(\d+\)/);
  assert.match(detail, /score calculated/);
  // The e-mail as it will be (or was) sent: recipient, subject, body.
  assert.match(detail, /To: ops\d+@example\.com/);
  assert.match(detail, /Subject: \S/);
  assert.ok((await p.locator("#detail pre").textContent()).length > 40, "the e-mail's text");
  await p.screenshot({ path: `${shots}/lead-panel.png`, fullPage: false });
  await p.keyboard.press("Escape");
  assert.equal(await p.locator("#detail").isHidden(), true);
  // A lead to monitor: no e-mail, and the panel says why.
  await p.fill("#search", "");
  await p.waitForFunction((n) => document.getElementById("total").textContent === `${n} companies`, process.env.EXPECT_LEADS);
  await p.selectOption("#action", "low_priority_monitoring");
  await onlyAction(p, "low priority monitoring");
  await p.locator("#leads tbody tr.clickable").first().click();
  await p.waitForSelector("#detail h2");
  assert.match(await noJsValues(p, "#detail"), /No e-mail\. Only leads whose action is high priority outreach or medium priority outreach get an e-mail\./);
  await p.keyboard.press("Escape");
  // A company named like an attack is text in the table and in its story, never markup.
  await p.selectOption("#action", "");
  const attack = '<img src=x onerror="window.__xss=1">';
  await p.fill("#search", "<img");
  await p.waitForFunction(() => document.querySelector("#leads tbody tr td")?.textContent.startsWith("<img"));
  assert.deepEqual(await p.locator("#leads tbody tr td:first-child").allTextContents(), [attack]);
  await p.click("#leads tbody tr");
  await p.waitForSelector("#detail h2");
  assert.equal(await p.locator("#detail h2").textContent(), attack);
  assert.equal(await p.locator("img").count(), 0, "no <img> element was made from lead data");
  await p.waitForTimeout(300);
  assert.equal(await p.evaluate(() => window.__xss), undefined, "a company name ran as script");
});

await page("an e-mail is cancelled and a dead one re-queued from the lead panel", async (p) => {
  await p.goto(`${base}/`);
  await loaded(p);
  // Waiting for a contact: cancel it.
  await search(p, "Waiting Inc", 1);
  await p.click("#leads tbody tr");
  await p.waitForSelector("#detail #cancel-email");
  assert.equal(await p.locator("#email-status").textContent(), "waiting");
  assert.match(await noJsValues(p, "#detail"), /To: \(no contact yet: the e-mail waits for one\)/);
  await p.click("#cancel-email");
  await p.waitForFunction(() => /was cancelled/.test(document.getElementById("notice").textContent));
  await p.waitForFunction(() => document.querySelector("#leads tbody td:nth-child(6)")?.textContent === "none");
  assert.equal(await p.locator("#cancel-email").count(), 0, "nothing left to cancel");
  await p.keyboard.press("Escape");
  // Bounced (550): dead, with the error; re-queue it.
  await search(p, "Bounce Corp", 1);
  await p.click("#leads tbody tr");
  await p.waitForSelector("#detail #requeue-email");
  assert.equal(await p.locator("#email-status").textContent(), "dead");
  assert.match(await noJsValues(p, "#detail"), /Last error: .*550/);
  await p.click("#requeue-email");
  await p.waitForFunction(() => /back in the queue/.test(document.getElementById("notice").textContent));
  await p.waitForFunction(() => document.getElementById("email-status")?.textContent === "queued");
  assert.equal(await p.locator("#requeue-email").count(), 0);
});

await page("a lead is deleted from its panel and leaves every view", async (p) => {
  await p.goto(`${base}/`);
  await loaded(p);
  await search(p, "Delete Me", 1);
  await p.click("#leads tbody tr");
  await p.waitForSelector("#detail #delete-lead");
  let asked = "";
  p.once("dialog", (d) => { asked = d.message(); d.accept(); });
  await p.click("#delete-lead");
  await p.waitForFunction(() => /Delete Me Ltd was deleted/.test(document.getElementById("notice").textContent));
  assert.match(asked, /^Delete Delete Me Ltd and everything recorded about it/);
  assert.equal(await p.locator("#detail").isHidden(), true);
  await p.waitForFunction(() => /No company matches/.test(document.querySelector("#leads tbody").textContent));
  await p.fill("#search", "");
  await p.waitForFunction((n) => document.getElementById("total").textContent === `${n} companies`, String(Number(process.env.EXPECT_LEADS) - 1));
  const gone = await fetch(`${base}/api/analytics/scored-leads-table?search=Delete%20Me`);
  assert.equal(gone.headers.get("x-total-count"), "0");
  // A dismissed confirmation deletes nothing.
  await search(p, "Globex", 1);
  await p.click("#leads tbody tr");
  await p.waitForSelector("#detail #delete-lead");
  let dismissed = false;
  p.once("dialog", (d) => { dismissed = true; d.dismiss(); });
  await p.click("#delete-lead");
  await p.waitForTimeout(300);
  assert.ok(dismissed, "the confirmation was asked");
  assert.equal(await p.locator("#detail").isVisible(), true, "the panel stays open");
  assert.equal(await p.locator("#detail h2").textContent(), "Globex Logistics");
  const kept = await fetch(`${base}/api/analytics/scored-leads-table?search=Globex`);
  assert.equal(kept.headers.get("x-total-count"), "1", "Globex is still there");
});

await page("the period and a custom date range change every panel", async (p) => {
  const asked = [];
  p.on("request", (r) => { if (r.url().includes("/api/analytics/")) asked.push(new URL(r.url())); });
  await p.goto(`${base}/`);
  await loaded(p);
  await p.selectOption("#days", "7");
  await p.waitForFunction(() => /^The last 7 days/.test(document.getElementById("period-label").textContent));
  await loaded(p);
  for (const path of ["kpi/qualified-leads", "funnel-over-time", "score-distribution", "email-performance", "activation-funnel"]) {
    assert.ok(asked.some((u) => u.pathname.endsWith(path) && u.searchParams.get("days") === "7"), `${path} asked for 7 days`);
  }
  assert.equal(await p.locator("#funnel-chart text[data-axis=x]").count() > 0, true);
  // A custom range in the past: nothing happened then, and every panel says so.
  await p.selectOption("#days", "custom");
  await p.waitForSelector("#range:not(.hidden)");
  await p.fill("#from", "2020-01-01");
  await p.fill("#to", "2020-01-31");
  await p.click("#range button");
  await p.waitForFunction(() => /^2020-01-01 to 2020-01-31 \(UTC, 31 days\)/.test(document.getElementById("period-label").textContent));
  await loaded(p);
  for (const path of ["kpi/qualified-leads", "funnel-over-time", "score-distribution", "email-performance", "activation-funnel"]) {
    assert.ok(asked.some((u) => u.pathname.endsWith(path) && u.searchParams.get("days") === "31" && u.searchParams.get("end_date") === "2020-01-31"),
      `${path} asked for the range`);
  }
  assert.equal(await p.locator('[data-metric="qualified-leads"] .value').textContent(), "0");
  assert.match(await p.locator("#distribution-chart").textContent(), /No companies were scored in this period/);
  assert.match(await p.locator("#funnel-chart").textContent(), /No qualified leads and no activations in this period/);
  assert.equal(await p.locator("#funnel-chart text[data-axis=x]").first().textContent(), "01-01");
  assert.match(await p.locator("#variants").textContent(), /No e-mails sent in this period/);
  assert.match(await p.locator("#activation").textContent(), /Nobody went through the activation page in this period/);
  await noJsValues(p, "main");
  // A range that ends before it starts is refused, with what to do.
  await p.fill("#from", "2020-02-10");
  await p.click("#range button");
  assert.match(await p.locator("#error").textContent(), /starts after it ends/);
});

await page("loading, a server error and an unreachable server each say what is happening and what to do", async (p, errors) => {
  // Loading: a slow table shows that it is loading.
  await p.route("**/api/analytics/scored-leads-table*", async (route) => {
    await new Promise((r) => setTimeout(r, 1500));
    await route.continue();
  });
  await p.goto(`${base}/`);
  await p.waitForFunction(() => /Loading/.test(document.getElementById("total").textContent));
  assert.match(await p.locator("#leads tbody").textContent(), /Loading…/);
  await loaded(p);
  await p.unroute("**/api/analytics/scored-leads-table*");
  // A server error: the banner says what failed and what to do; Refresh recovers.
  await p.route("**/api/analytics/kpi/**", (route) => route.fulfill({ status: 503, contentType: "application/json",
    body: JSON.stringify({ error: "unavailable", detail: "the database could not complete the request; try again" }) }));
  await p.click("#refresh");
  await p.waitForSelector("#error:not(.hidden)");
  assert.match(await p.locator("#error").textContent(),
    /The server could not answer \(HTTP 503: the database could not complete the request; try again\)\. Press Refresh to try again/);
  await p.unroute("**/api/analytics/kpi/**");
  await p.click("#refresh");
  await loaded(p);
  assert.equal(await p.locator("#error").isHidden(), true);
  // The server cannot be reached at all.
  await p.route("**/api/**", (route) => route.abort("connectionrefused"));
  await p.click("#refresh");
  await p.waitForSelector("#error:not(.hidden)");
  assert.match(await p.locator("#error").textContent(), /Could not reach the server\. Is brim serve still running\?/);
  // The 503s and refused connections are this test's doing; nothing else may fail.
  const unexpected = errors.filter((e) => !/status of 503|request failed|ERR_CONNECTION_REFUSED|Failed to load resource/.test(e));
  errors.length = 0;
  errors.push(...unexpected);
});

await page("the activation page goes upload → result → share and logs each step", async (p) => {
  await p.goto(`${base}/activate`);
  await p.click("#sample");
  await p.waitForSelector("body[data-step=result]");
  assert.match(await p.locator("#result-title").textContent(), /^5 companies scored/);
  const scores = (await p.locator("#results tbody td:nth-child(3)").allTextContents()).map(Number);
  assert.equal(scores.length, 5);
  assert.deepEqual(scores, [...scores].sort((a, b) => b - a), "best first");
  await p.click("#to-share");
  await p.waitForSelector("body[data-step=share]");
  assert.match(await p.locator("#share-text").textContent(), /^Brim scored 5 companies/);
  const user = await p.evaluate(() => localStorage.getItem("brim-activation-user"));
  assert.match(user, /^anon-/);
  await p.screenshot({ path: `${shots}/activate.png`, fullPage: true });
  // The three steps are in the activation funnel (the page logs asynchronously: poll).
  for (let i = 0; ; i++) {
    const steps = await (await fetch(`${base}/api/analytics/activation-funnel`)).json();
    const users = Object.fromEntries(steps.map((s) => [s.step, s.users]));
    if (users.file_upload >= 1 && users.result_viewed >= 1 && users.share_step_reached >= 1) break;
    assert.ok(i < 50, `steps not logged: ${JSON.stringify(steps)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  // The dashboard's funnel lists the configured steps, in order, and nothing invented.
  const invented = await fetch(`${base}/api/activation/log-event`, { method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ user_id: "u", step_name: "invented_step" }) });
  assert.equal(invented.status, 422);
  await p.goto(`${base}/`);
  await loaded(p);
  assert.deepEqual(await p.locator("#activation tbody td:first-child").allTextContents(),
    ["file upload", "result viewed", "share step reached"]);
  await p.locator("#activation").screenshot({ path: `${shots}/activation-funnel.png` });
});

/** A CSV of `n` leads: a hostile name ranked first, and one bad row (line 501). */
function leadsCsv(n) {
  const rows = ["company_name,employee_count,industry,tech_stack,recent_job_posts,contact.email"];
  rows.push('"<img src=x onerror=""window.__xss=1;alert(1)"">",150,SaaS,Zapier; Salesforce,Head of Operations,ops@x.example');
  for (let i = 1; i < n; i++) {
    const count = i === 499 ? "many" : String((i * 37) % 900);
    rows.push(`Visitor Co ${i},${count},${["SaaS", "Retail", "Fintech", "Food"][i % 4]},${i % 3 ? "" : "Make"},${i % 2 ? "" : "RevOps Manager"},`);
  }
  return rows.join("\n") + "\n";
}

await page("a 1,000-lead CSV is scored in the browser: nothing uploaded, bad row named, hostile name as text", async (p) => {
  const requests = [];
  p.on("request", (r) => requests.push({ method: r.method(), url: r.url(), body: r.postData() || "" }));
  let dialogs = 0;
  p.on("dialog", (d) => { dialogs++; d.dismiss(); });
  await p.goto(`${base}/activate`);
  const csv = leadsCsv(1000);
  await p.setInputFiles("#file", { name: "leads.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
  await p.waitForSelector("body[data-step=result]");
  assert.match(await p.locator("#result-title").textContent(), /^999 companies scored, best first/);
  assert.match(await p.locator("#failures").textContent(), /1 row we could not read/);
  assert.match(await p.locator("#failures").textContent(), /Line 501: employee_count: expected a whole number >= 0, got "many"/);
  // The hostile name is first (a perfect score) and shown as text.
  const names = await p.locator("#results tbody td:nth-child(2)").allTextContents();
  assert.equal(names.length, 50, "one page of 50");
  assert.equal(names[0], '<img src=x onerror="window.__xss=1;alert(1)">');
  assert.equal(await p.locator("img").count(), 0, "no <img> element was made from a visitor's file");
  // A row opens its explanation.
  await p.locator("#results tbody tr").first().click();
  const explain = await p.locator("#results tr.explain").textContent();
  assert.match(explain, /Ideal company size \(150 employees\)\./);
  assert.match(explain, /company_size \(fit\): matched, 100 points/);
  await noJsValues(p, "body");
  await p.screenshot({ path: `${shots}/activate-results.png`, fullPage: true });
  // The next page, then the download.
  assert.equal(await p.locator("#page-info").textContent(), "Page 1 of 20");
  await p.click("#next");
  await p.waitForFunction(() => document.getElementById("page-info").textContent === "Page 2 of 20");
  assert.equal(await p.locator("#results tbody td:first-child").first().textContent(), "51");
  const [download] = await Promise.all([p.waitForEvent("download"), p.click("#download")]);
  assert.equal(download.suggestedFilename(), "brim-scores.csv");
  const text = await (await import("node:fs/promises")).readFile(await download.path(), "utf8");
  const lines = text.trim().split("\n");
  assert.equal(lines.length, 1000, "a header and 999 ranked rows");
  assert.match(lines[0], /^rank,company_id,company_name,fit_score,intent_score,total_score,confidence,action,positive,negative,missing$/);
  assert.match(lines[1], /^1,[0-9a-f]+,"<img src=x onerror=""window.__xss=1;alert\(1\)"">",100,100,100,/);
  await p.click("#to-share");
  await p.waitForSelector("body[data-step=share]");
  await p.waitForTimeout(300);
  assert.equal(await p.evaluate(() => window.__xss), undefined, "a company name ran as script");
  assert.equal(dialogs, 0, "no dialog fired");
  // What reached the server: the page's own files and the three activation events, nothing of the file.
  for (const r of requests) {
    const path = new URL(r.url).pathname;
    if (r.url.startsWith("blob:")) continue;
    assert.ok(r.url.startsWith(base), `a request left the server: ${r.url}`);
    if (r.method === "GET") {
      assert.ok(path === "/activate" || path.startsWith("/assets/"), `unexpected GET ${path}`);
    } else {
      assert.equal(`${r.method} ${path}`, "POST /api/activation/log-event");
      assert.ok(r.body.length < 300, `a large event body: ${r.body.length} bytes`);
      assert.doesNotMatch(r.body, /Visitor Co|img src|company_name|leads\.csv/, r.body);
    }
  }
  const events = requests.filter((r) => r.method === "POST").map((r) => JSON.parse(r.body).step_name);
  assert.deepEqual(events, ["file_upload", "result_viewed", "share_step_reached"]);
  assert.ok(requests.some((r) => r.url.endsWith("/assets/brim-wasm/brim_wasm_bg.wasm")), "the scorer was loaded");
});

await page("a JSON-lines file with a bad row is scored and the bad row is named", async (p) => {
  // The scorer arrives late (a slow network): a file chosen before it is ready is still scored.
  await p.route("**/brim_wasm_bg.wasm", async (route) => {
    await new Promise((r) => setTimeout(r, 1500));
    await route.continue();
  });
  await p.goto(`${base}/activate`);
  await p.setInputFiles("#file", { name: "leads.jsonl", mimeType: "application/x-ndjson",
    buffer: Buffer.from('{"company_name": "Good Co", "employee_count": 50}\n{"company_name": "Bad Co", "employee_count": "many"}\n'
      + '{"company_name": "Third Co"}\n') });
  await p.waitForSelector("body[data-step=result]");
  assert.match(await p.locator("#result-title").textContent(), /^2 companies scored/);
  assert.match(await p.locator("#failures").textContent(), /Line 2: employee_count/);
});

await page("an unreadable file gets a clear error and no result", async (p) => {
  await p.goto(`${base}/activate`);
  await p.setInputFiles("#file", { name: "leads.json", mimeType: "application/json", buffer: Buffer.from("[{\"company_name\": ") });
  await p.waitForSelector("#error:not(.hidden)");
  assert.match(await p.locator("#error").textContent(), /could not read this file: the file is not valid JSON/);
  assert.equal(await p.locator("#result-step").isHidden(), true);
  await p.setInputFiles("#file", { name: "leads.csv", mimeType: "text/csv", buffer: Buffer.from("name,size\nAcme,3\n") });
  await p.waitForFunction(() => /no company_name column/.test(document.getElementById("error").textContent));
  assert.equal(await p.locator("#result-step").isHidden(), true);
  // A broken .json file is reported as broken JSON, not as a CSV without company_name.
  await p.setInputFiles("#file", { name: "leads.json", mimeType: "application/json", buffer: Buffer.from("company_name: Acme\n") });
  await p.waitForFunction(() => /not valid JSON/.test(document.getElementById("error").textContent));
  assert.doesNotMatch(await p.locator("#error").textContent(), /company_name column/);
});

await page("without its scorer the activation page says so and how to fix it", async (p, errors) => {
  await p.route("**/brim_wasm_bg.wasm", (route) => route.fulfill({ status: 404, body: "not here" }));
  await p.goto(`${base}/activate`);
  await p.setInputFiles("#file", { name: "leads.csv", mimeType: "text/csv", buffer: Buffer.from("company_name\nAcme\n") });
  await p.waitForSelector("#error:not(.hidden)");
  assert.match(await p.locator("#error").textContent(), /could not start its in-browser scorer .*build it with scripts\/build-wasm/);
  assert.equal(await p.locator("#result-step").isHidden(), true);
  assert.equal(await p.locator("#working").isHidden(), true);
  // The 404 is this test's doing; nothing else may fail.
  const unexpected = errors.filter((e) => !/status of 404/.test(e));
  errors.length = 0;
  errors.push(...unexpected);
});

await page("with an API key the dashboard asks for it, then loads; with no data every panel says so", async (p, errors) => {
  await p.goto(`${keyedBase}/`);
  await p.waitForSelector("#key-form:not(.hidden)");
  assert.match(await p.locator("#key-message").textContent(), /needs its API key/);
  await p.fill("#key", apiKey);
  await p.click("#key-form button");
  await loaded(p);
  assert.equal(await p.locator("#key-form").isHidden(), true);
  assert.equal(await p.locator("#kpis .card").count(), 4);
  // A new server: nothing scored, sent or activated yet, and each panel says what to do.
  assert.match(await p.locator("#leads tbody").textContent(), /No scored leads yet\. Score some with POST \/api\/score-company/);
  assert.match(await p.locator("#distribution-chart").textContent(), /No companies were scored in this period/);
  assert.match(await p.locator("#variants").textContent(), /No e-mails sent in this period/);
  assert.match(await p.locator("#activation").textContent(), /Nobody went through the activation page/);
  await noJsValues(p, "main");
  // The 401s before the key is given are expected; nothing else is.
  const unexpected = errors.filter((e) => !/status of 401/.test(e));
  errors.length = 0;
  errors.push(...unexpected);
});

await page("an expired API key is refused with what to do", async (p, errors) => {
  await p.addInitScript(() => sessionStorage.setItem("brim-api-key", "an-old-key-that-was-replaced"));
  await p.goto(`${keyedBase}/`);
  await p.waitForSelector("#key-form:not(.hidden)");
  assert.match(await p.locator("#key-message").textContent(), /The API key was refused: it is wrong, or the server's key was changed \(an expired key\)\. Enter the current key\./);
  await p.fill("#key", apiKey);
  await p.click("#key-form button");
  await loaded(p);
  const unexpected = errors.filter((e) => !/status of 401/.test(e));
  errors.length = 0;
  errors.push(...unexpected);
});

await page("the API docs load offline", async (p) => {
  await p.goto(`${base}/docs/`);
  await p.waitForSelector(".swagger-ui .opblock", { timeout: 15000 });
  assert.ok(await p.locator(".opblock").count() >= 25, "every operation listed");
});

await page("learned scoring: a model is activated with a weight, explains a score, is compared and rolled back", async (p) => {
  await p.goto(`${base}/`);
  await loaded(p);
  assert.match(await p.locator("#active-model").textContent(), /the rules alone/);
  assert.equal(await p.locator("#learned-models tbody tr").count(), 2, "two uploaded models");
  assert.ok(await p.locator("#calibration circle").count() >= 2, "a calibration chart with points");
  assert.match(await p.locator("#calibration").getAttribute("aria-label"), /predicted \d+ %, observed \d+ %/);
  // Activate version 1 alone (weight 1).
  await p.fill("#weight", "1");
  await p.locator("#learned-models tbody tr", { hasText: "conversion 1" }).getByRole("button", { name: "Activate" }).click();
  await p.waitForFunction(() => /In force: conversion 1/.test(document.querySelector("#active-model").textContent));
  assert.match(await p.locator("#active-model").textContent(), /weight 1: total = 0 % rules \+ 100 % model/);
  assert.match(await p.locator("#notice").textContent(), /conversion 1 now scores with weight 1/);
  // A bad weight is refused before any request.
  await p.fill("#weight", "3");
  await p.locator("#learned-models tbody tr", { hasText: "conversion 2" }).getByRole("button", { name: "Activate" }).click();
  await p.waitForSelector("#learned-active .error");
  assert.match(await p.locator("#learned-active .error").textContent(), /from 0 to 1/);
  // A lead scored now shows the learned part in its panel.
  const status = await p.evaluate(async () => (await fetch("/api/score-company", { method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ company_name: "Learned Lead Co", employee_count: 150, industry: "SaaS", tech_stack: ["Salesforce", "Zapier"] }) })).status);
  assert.equal(status, 200);
  await search(p, "Learned Lead", 1);
  await p.locator("#leads tbody tr.clickable").first().click();
  await p.waitForSelector("#learned-part");
  assert.match(await p.locator("#learned-part").textContent(), /conversion 1: \d+(\.\d)? % likely to convert/);
  assert.ok(await p.locator("#learned-reasons li").count() >= 1, "the features behind the probability");
  await noJsValues(p, "#detail");
  await p.keyboard.press("Escape");
  // Compare the two on the reported outcomes.
  await p.selectOption("#compare-a", { label: await p.locator("#compare-a option", { hasText: "conversion 1" }).textContent() });
  await p.selectOption("#compare-b", { label: await p.locator("#compare-b option", { hasText: "conversion 2" }).textContent() });
  await p.click("#compare");
  await p.waitForSelector("#verdict");
  assert.match(await p.locator("#verdict").textContent(), /(ranks these rows better|no clear difference).*95 % paired bootstrap/);
  assert.equal(await p.locator("#comparison-table tbody tr").count(), 2);
  await noJsValues(p, "#learned");
  await p.locator("#learned").screenshot({ path: `${shots}/learned.png` });
  // Roll back: the rules alone again.
  await p.click("#rollback");
  await p.waitForFunction(() => /the rules alone/.test(document.querySelector("#active-model").textContent));
  assert.equal(await p.locator("#deactivate").count(), 0);
});

await page("a lead is enriched from its panel and shows where each value came from", async (p) => {
  await p.goto(`${base}/`);
  await loaded(p);
  await search(p, "Globex", 1);
  await p.locator("#leads tbody tr.clickable").first().click();
  await p.waitForSelector("#enrich-lead");
  assert.match(await p.locator("#detail").innerText(), /Every value is the lead's own/);
  await p.click("#enrich-lead");
  await p.waitForSelector("#sources tbody tr");
  const rows = await p.locator("#sources tbody tr").allInnerTexts();
  assert.ok(rows.some((r) => /tech_stack\s+Snowflake, Zapier\s+localdata \(gx-7\)/.test(r)), rows.join(" | "));
  assert.ok(rows.some((r) => /attributes\.founded_year\s+1999\s+localdata/.test(r)), rows.join(" | "));
  assert.ok(!rows.some((r) => r.startsWith("employee_count")), "the lead's own head count is kept");
  assert.match(await p.locator("#notice").textContent(), /Globex Logistics: filled in .*tech_stack.* from localdata; score \d+/);
  // The panel shows the new score: its reasons say what rested on the provider's values.
  const detail = await p.locator("#detail").innerText();
  assert.match(detail, /\(from localdata\)/);
  assert.doesNotMatch(detail, /Missing\n[^]*tech_stack[^]*\nRules/);
  assert.match(detail, /Score history \(2\)/);
  await noJsValues(p, "#detail");
  await p.locator("#detail").screenshot({ path: `${shots}/lead-sources.png` });
});

await browser.close();
if (failures.length) {
  console.log(`${failures.length} failed`);
  process.exit(1);
}
