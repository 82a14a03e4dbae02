// brim-wasm/learn as Node.js users get it: a model trained by `brim train` (BRIM_BIN) loaded
// from its file, its predictions checked against the CLI's own (`brim compare` on the same
// rows: ROC-AUC and log-loss, the latter only equal if every probability is), leads and
// table rows, explanations, and errors that say what is wrong.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const pkg = resolve(process.env.BRIM_WASM_PKG || join(here, "../pkg"));
const brim = resolve(process.env.BRIM_BIN || join(root, process.env.CARGO_TARGET_DIR || "target", "debug/brim"));
const { loadLearnedModel, LearnedModel } = await import(pathToFileURL(join(pkg, "learn-node.js")).href);

// A table whose columns are lead fields: bigger SaaS companies convert more often.
const industries = ["SaaS", "Retail", "Logistics"];
const rows = Array.from({ length: 600 }, (_, i) => {
  const employees = 10 + ((i * 37) % 500);
  const industry = industries[i % 3];
  const converted = (employees > 200) === (industry === "SaaS") || i % 7 === 0 ? 1 : 0;
  return { employee_count: i % 17 === 0 ? null : employees, industry, converted };
});
const dir = mkdtempSync(join(tmpdir(), "brim-learn-"));
const csv = join(dir, "outcomes.csv");
writeFileSync(csv, "employee_count,industry,converted\n" +
  rows.map((r) => `${r.employee_count ?? ""},${r.industry},${r.converted}`).join("\n") + "\n");
const modelFile = join(dir, "model.json");
execFileSync(brim, ["train", csv, "--label", "converted", "--name", "size-and-industry", "--output", modelFile],
  { stdio: ["ignore", "ignore", "pipe"] });
const cli = JSON.parse(execFileSync(brim, ["compare", modelFile, modelFile, csv, "--label", "converted", "--json"]).toString());

function rocAuc(p, y) {
  const order = p.map((v, i) => [v, y[i]]).sort((a, b) => a[0] - b[0]);
  let rank = 0, sumPos = 0, pos = 0;
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j < order.length && order[j][0] === order[i][0]) j++;
    const mid = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) if (order[k][1]) { sumPos += mid; pos++; }
    rank = j; i = j;
  }
  const neg = order.length - pos;
  return (sumPos - (pos * (pos + 1)) / 2) / (pos * neg);
}

function logLoss(p, y) {
  const eps = 1e-15;
  return -p.reduce((s, v, i) => {
    const q = Math.min(1 - eps, Math.max(eps, v));
    return s + (y[i] ? Math.log(q) : Math.log(1 - q));
  }, 0) / p.length;
}

test("a model trained by brim train predicts table rows as the CLI does", async () => {
  const model = await loadLearnedModel(readFileSync(modelFile, "utf8"));
  assert.equal(model.name, "size-and-industry");
  const info = model.info();
  assert.equal(info.n_rows, 600);
  assert.deepEqual(info.columns.sort(), ["employee_count", "industry"]);
  assert.ok(info.evaluation.roc_auc > 0.8, JSON.stringify(info.evaluation));
  const p = model.predictRows(rows.map(({ converted, ...r }) => r));
  assert.ok(p instanceof Float64Array);
  assert.equal(p.length, rows.length);
  const y = rows.map((r) => r.converted === 1);
  assert.ok(Math.abs(rocAuc([...p], y) - cli.a.roc_auc) < 1e-12, `${rocAuc([...p], y)} vs ${cli.a.roc_auc}`);
  assert.ok(Math.abs(logLoss([...p], y) - cli.a.log_loss) < 1e-9, `${logLoss([...p], y)} vs ${cli.a.log_loss}`);
  // One row explained: the same probability, and the features behind it.
  const one = model.explainRow({ employee_count: 400, industry: "SaaS" }, 2);
  assert.ok(one.contributions.length >= 1 && one.contributions.length <= 2);
  assert.match(one.contributions.map((c) => c.feature).join(" "), /industry|employee_count/);
  const same = model.predictRows([{ employee_count: 400, industry: "SaaS" }])[0];
  assert.equal(one.probability, same);
  // Loading from the parsed object, and a second model, reuse the loaded module.
  const again = await loadLearnedModel(JSON.parse(readFileSync(modelFile, "utf8")));
  assert.deepEqual(again.predictRows(rows.slice(0, 5)), p.slice(0, 5));
});

test("leads are scored on the columns a lead gives", async () => {
  const model = await loadLearnedModel(readFileSync(modelFile, "utf8"));
  const leads = [
    { company_name: "Big SaaS", employee_count: 400, industry: "SaaS" },
    { company_name: "Small SaaS", employee_count: 20, industry: "SaaS", tech_stack: ["Shopify"] },
    { company_name: "Unknown" },
  ];
  const p = model.predictLeads(leads);
  const rowsOfLeads = model.predictRows([
    { employee_count: 400, industry: "SaaS" }, { employee_count: 20, industry: "SaaS" },
    { employee_count: null, industry: null },
  ]);
  assert.deepEqual([...p], [...rowsOfLeads]);
  assert.ok(p[0] > p[1], `${p}`);
  const why = model.explainLead(leads[0]);
  assert.equal(why.probability, p[0]);
  assert.ok(why.contributions.length >= 1);
  assert.deepEqual([...model.predictLeads(JSON.stringify(leads))], [...p]);
});

test("bad input is a clear error, never a crash", async () => {
  const model = await loadLearnedModel(readFileSync(modelFile, "utf8"));
  const errors = [
    [() => LearnedModel.parse("{}"), "ModelError", /not a learned model/],
    [() => LearnedModel.parse('{"format": "something else"}'), "ModelError", /not a learned model/],
    [() => LearnedModel.parse(null), "TypeError", /model: expected/],
    [() => model.predictLeads([{ company_name: "ok" }, { employee_count: 5 }]), "LeadError", /leads\[1\]: .*company_name/],
    [() => model.predictLeads("not json"), "LeadError", /expected a JSON array/],
    [() => model.explainRow({}), "InputError", /no keys/],
    [() => model.predictRows([{}, {}]), "InputError", /no keys/],
    [() => model.predictRows(42), "InputError", /array of objects/],
  ];
  for (const [fn, name, message] of errors) {
    let caught;
    try { fn(); } catch (e) { caught = e; }
    assert.ok(caught instanceof Error, `${fn} threw ${caught}`);
    assert.equal(caught.name, name, `${fn}: ${caught.message}`);
    assert.match(caught.message, message);
  }
  // A damaged tree is refused at load, not followed.
  const damaged = JSON.parse(readFileSync(modelFile, "utf8"));
  if (damaged.boosted) {
    damaged.boosted.trees[0].nodes[0].split = { ...(damaged.boosted.trees[0].nodes[0].split || {}), feature: 0, left: 0, right: 0 };
    await assert.rejects(loadLearnedModel(damaged), (e) => e.name === "ModelError");
  }
  // The model still works after the errors.
  assert.equal(model.predictRows(rows.slice(0, 3)).length, 3);
});
