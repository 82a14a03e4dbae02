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

await page("dashboard shows KPIs, charts, queue and the scored leads", async (p) => {
  await p.goto(`${base}/`);
  await p.waitForSelector("body[data-loaded=true]", { timeout: 15000 });
  assert.equal(await p.locator("#kpis .card").count(), 4);
  const qualified = await p.locator('[data-metric="qualified-leads"] .value').textContent();
  assert.equal(Number(qualified), Number(process.env.EXPECT_QUALIFIED), "qualified leads card");
  assert.equal(await p.locator('#funnel-chart polyline').count(), 2, "two series in the funnel chart");
  assert.equal(await p.locator('#distribution-chart rect').count(), 10, "ten score bins");
  const rows = p.locator("#leads tbody tr");
  assert.equal(await rows.count(), 25, "first page of 25");
  assert.match(await p.locator("#total").textContent(), new RegExp(`^${process.env.EXPECT_LEADS} companies`));
  // Best first: scores descend.
  const scores = (await p.locator("#leads tbody tr td:nth-child(2)").allTextContents()).map(Number);
  assert.deepEqual(scores, [...scores].sort((a, b) => b - a));
  await p.screenshot({ path: `${shots}/dashboard.png`, fullPage: true });
});

await page("the table sorts, searches, pages, and opens a lead's story", async (p) => {
  await p.goto(`${base}/dashboard`);
  await p.waitForSelector("body[data-loaded=true]");
  await p.click('#leads th button[data-sort="name"]');
  await p.waitForFunction(() => document.querySelector('#leads th button[data-sort="name"]').textContent.includes("▼"));
  let names = await p.locator("#leads tbody tr td:first-child").allTextContents();
  assert.deepEqual(names, [...names].sort((a, b) => b.localeCompare(a, "en", { sensitivity: "base" })), "names descending");
  await p.click("#next");
  await p.waitForFunction(() => document.getElementById("page").textContent.startsWith("page 2"));
  await p.fill("#search", "Globex");
  await p.waitForFunction(() => document.querySelectorAll("#leads tbody tr").length === 1);
  names = await p.locator("#leads tbody tr td:first-child").allTextContents();
  assert.deepEqual(names, ["Globex Logistics"]);
  await p.click("#leads tbody tr");
  await p.waitForSelector("#detail h2");
  assert.equal(await p.locator("#detail h2").textContent(), "Globex Logistics");
  const detail = await p.locator("#detail").textContent();
  assert.match(detail, /Score \d+ \(fit \d+, intent \d+\)/);
  assert.match(detail, /Events \(\d+\)/);
  assert.match(detail, /score_calculated/);
  // Every section reads as text: the explanation's lists and the e-mail's preview, and nothing
  // shows a JavaScript value ("[object HTMLElement]", "null", "undefined").
  assert.match(detail, /WhyFor/);
  assert.match(detail, /Against/);
  assert.match(detail, /Missing/);
  assert.ok(await p.locator("#detail ul li").count() > 0, "the reasons are list items");
  for (const bad of ["[object ", "undefined", "null"]) {
    assert.ok(!detail.includes(bad), `the lead panel shows ${JSON.stringify(bad)}: ${detail}`);
  }
  await p.keyboard.press("Escape");
  assert.equal(await p.locator("#detail").isHidden(), true);
  // A company named like an attack is text in the table and in its story, never markup.
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

await page("with an API key the dashboard asks for it, then loads", async (p, errors) => {
  await p.goto(`${keyedBase}/`);
  await p.waitForSelector("#key-form:not(.hidden)");
  // The 401s before the key is given are expected; nothing else is.
  const unexpected = errors.filter((e) => !/status of 401/.test(e));
  errors.length = 0;
  errors.push(...unexpected);
  await p.fill("#key", apiKey);
  await p.click("#key-form button");
  await p.waitForSelector("body[data-loaded=true]");
  assert.equal(await p.locator("#key-form").isHidden(), true);
  assert.equal(await p.locator("#kpis .card").count(), 4);
});

await page("the API docs load offline", async (p) => {
  await p.goto(`${base}/docs/`);
  await p.waitForSelector(".swagger-ui .opblock", { timeout: 15000 });
  assert.ok(await p.locator(".opblock").count() >= 25, "every operation listed");
});

await browser.close();
if (failures.length) {
  console.log(`${failures.length} failed`);
  process.exit(1);
}
