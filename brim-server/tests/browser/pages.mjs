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
  const scores = (await p.locator("#results tbody td:nth-child(2)").allTextContents()).map(Number);
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

await page("a file with a bad row is scored and the bad row is named", async (p) => {
  await p.goto(`${base}/activate`);
  await p.setInputFiles("#file", { name: "leads.jsonl", mimeType: "application/x-ndjson",
    buffer: Buffer.from('{"company_name": "Good Co", "employee_count": 50}\n{"company_name": "Bad Co", "employee_count": "many"}\n'
      + '{"company_name": "<img src=x onerror=\\"window.__xss=1\\">"}\n') });
  await p.waitForSelector("body[data-step=result]");
  assert.match(await p.locator("#result-title").textContent(), /^2 companies scored/);
  assert.match(await p.locator("#failures").textContent(), /line 2: employee_count/);
  assert.ok((await p.locator("#results tbody td:first-child").allTextContents()).includes('<img src=x onerror="window.__xss=1">'));
  assert.equal(await p.locator("img").count(), 0, "no <img> element was made from a visitor's file");
  await p.waitForTimeout(300);
  assert.equal(await p.evaluate(() => window.__xss), undefined, "a company name ran as script");
});

await page("an unreadable file gets a clear error and no result", async (p, errors) => {
  await p.goto(`${base}/activate`);
  await p.setInputFiles("#file", { name: "leads.json", mimeType: "application/json", buffer: Buffer.from("[{\"company_name\": ") });
  await p.waitForSelector("#error:not(.hidden)");
  assert.match(await p.locator("#error").textContent(), /could not read this file/);
  assert.equal(await p.locator("#result-step").isHidden(), true);
  // The browser logs the expected 422 as a console error.
  const logged = errors.splice(0);
  assert.equal(logged.length, 1, String(logged));
  assert.match(logged[0], /status of 422/);
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
