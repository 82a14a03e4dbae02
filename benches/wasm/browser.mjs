// The activation page in headless Chromium, side by side with native `brim score` on the same
// CSV: for the page, the time from the file being chosen (its bytes handed to the scorer) to the
// ranked table's first page on screen, as the page records it (body.dataset.scoreMs), and the
// longest the page's main thread was blocked meanwhile; for the CLI, the wall time of
// `brim score FILE > /dev/null`. Medians of several runs.
//
//   python3 benches/baseline/make_leads.py 100000 --csv > /tmp/leads.csv
//   ./scripts/build-wasm && cargo build --release -p brim-server
//   node benches/wasm/browser.mjs /tmp/leads.csv [RUNS]
//
// It starts its own `brim serve` (target/release/brim, or BRIM_BIN) in a temporary folder, and
// uses playwright-core from brim-server/tests/browser (npm ci there) and Debian's chromium.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "../..");
const [csvArg, runsArg] = process.argv.slice(2);
if (!csvArg) {
  console.error("usage: node benches/wasm/browser.mjs LEADS.csv [RUNS]");
  process.exit(2);
}
const csv = resolve(csvArg);
const runs = Number(runsArg || 5);
const brim = resolve(process.env.BRIM_BIN || join(root, "target/release/brim"));
const { chromium } = createRequire(join(root, "brim-server/tests/browser/package.json"))("playwright-core");
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// Native first: the CLI reading, scoring and writing every lead with its reasons.
const native = [];
for (let i = 0; i <= runs; i++) {
  const t = performance.now();
  const out = spawnSync(brim, ["score", csv], { stdio: ["ignore", "ignore", "pipe"] });
  if (out.status !== 0) throw new Error(`brim score failed: ${out.stderr}`);
  if (i > 0) native.push(performance.now() - t); // the first run warms the page cache
}

const dir = mkdtempSync(join(tmpdir(), "brim-bench-"));
const port = 20000 + Math.floor(Math.random() * 20000);
const server = spawn(brim, ["serve", "--bind", `127.0.0.1:${port}`], { cwd: dir, stdio: "ignore" });
const base = `http://127.0.0.1:${port}`;
for (let i = 0; ; i++) {
  try {
    if ((await fetch(`${base}/healthz`)).ok) break;
  } catch (_) { /* not yet */ }
  if (i > 100) throw new Error("brim serve did not start");
  await new Promise((r) => setTimeout(r, 100));
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
});
const page = [];
const stalls = [];
let leads = "";
try {
  for (let i = 0; i <= runs; i++) {
    const context = await browser.newContext();
    const p = await context.newPage();
    await p.goto(`${base}/activate`);
    // Let the worker load brim-wasm, as it does while a visitor looks for their file.
    await p.waitForTimeout(1000);
    // The main thread's longest stall while scoring: a 10 ms timer that notes how late it runs.
    await p.evaluate(() => {
      window.__stall = 0;
      let last = performance.now();
      setInterval(() => {
        const now = performance.now();
        window.__stall = Math.max(window.__stall, now - last - 10);
        last = now;
      }, 10);
    });
    await p.setInputFiles("#file", csv);
    await p.waitForSelector("body[data-step=result]", { timeout: 120000 });
    if (i > 0) {
      page.push(Number(await p.evaluate(() => document.body.dataset.scoreMs)));
      stalls.push(await p.evaluate(() => window.__stall));
    }
    leads = await p.locator("#result-title").textContent();
    await context.close();
  }
} finally {
  await browser.close();
  server.kill();
  rmSync(dir, { recursive: true, force: true });
}

const mb = (statSync(csv).size / 1e6).toFixed(1);
const chromeVersion = spawnSync(process.env.CHROMIUM || "/usr/bin/chromium", ["--version"]).stdout.toString().trim();
console.log(`${csv} (${mb} MB): ${leads}; ${chromeVersion}; ${runs} runs each`);
const row = (name, ms) => console.log(`${name.padEnd(58)} median ${median(ms).toFixed(0).padStart(6)} ms  (${ms.map((m) => m.toFixed(0)).join(", ")})`);
row("activation page: file chosen → ranked first page", page);
row("  longest main-thread stall meanwhile", stalls);
row("native `brim score FILE > /dev/null` (every report)", native);
console.log(`ratio page / native: ${(median(page) / median(native)).toFixed(2)}`);
