// The brim-wasm package as Node.js users get it: `node --test` over the built package folder
// (BRIM_WASM_PKG, default ../pkg), and agreement with `brim score` (BRIM_BIN, default
// target/debug/brim) on examples/leads.jsonl and a generated file of 10,000 leads.
// scripts/test-wasm builds both and runs this file.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createReadStream, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const pkg = resolve(process.env.BRIM_WASM_PKG || join(here, "../pkg"));
const brim = resolve(process.env.BRIM_BIN || join(root, process.env.CARGO_TARGET_DIR || "target", "debug/brim"));
const { score, scoreMany, scoreCsv, scoreStream, StreamScorer, Model, presets } =
  await import(pathToFileURL(join(pkg, "node.js")).href);

const IDEAL = {
  company_name: "Ideal", employee_count: 150, industry: "SaaS",
  tech_stack: ["Zapier", "Salesforce"], recent_job_posts: ["Head of Operations"],
};

/** Runs `fn`, which must throw; returns the error after checking it is a real, clear Error. */
function thrown(fn) {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof Error, `threw a non-Error: ${error}`);
    assert.doesNotMatch(error.message, /unreachable|panicked|RuntimeError|wasm/i);
    assert.notEqual(error.name, "RuntimeError");
    return error;
  }
  assert.fail("expected an error");
}

test("the spec's worked examples", () => {
  const ideal = score(IDEAL);
  assert.deepEqual([ideal.fit_score, ideal.intent_score, ideal.total_score], [100, 100, 100]);
  assert.equal(ideal.action, "high_priority_outreach");
  assert.deepEqual(ideal.reasoning.positive, [
    "Ideal company size (150 employees).", "Ideal industry: SaaS.",
    "Uses automation tools: zapier.", "Hiring for operations or automation roles."]);
  assert.equal(ideal.confidence, 0.71);

  const gov = score({ company_name: "Gov", employee_count: 1000, industry: "Government" });
  assert.deepEqual([gov.fit_score, gov.intent_score, gov.total_score], [0, 0, 0]);
  assert.deepEqual(gov.reasoning.negative, ["Company size is outside target range."]);
  assert.equal(gov.company_id, score({ company_name: "Gov" }).company_id);

  const nameless = score('{"company_name": "Nameless"}');
  assert.equal(nameless.total_score, 0);
  assert.equal(nameless.confidence, 0.14);
  assert.deepEqual(nameless.reasoning.missing,
    ["employee_count", "industry", "tech_stack", "recent_job_posts"]);
  assert.ok(nameless.contributions.every((c) => c.counted === false));
});

test("presets differ, and models round-trip through TOML and JSON", () => {
  assert.deepEqual(presets(), ["balanced", "aggressive", "conservative", "intent"]);
  const lead = { ...IDEAL, employee_count: 600, funding_stage: "Series B",
    news_mentions: ["Ideal raises $30M Series B to expand into Europe"] };
  const totals = presets().map((name) => score(lead, name).total_score);
  assert.ok(new Set(totals).size > 1, `presets all gave ${totals}`);
  for (const name of presets()) {
    const model = Model.preset(name);
    assert.equal(model.name, name);
    assert.deepEqual(score(lead, model), score(lead, name));
    const fromToml = Model.parse(model.toToml());
    const fromObject = Model.parse(model.toJSON());
    const fromJsonText = Model.parse(JSON.stringify(model));
    for (const other of [fromToml, fromObject, fromJsonText]) {
      assert.deepEqual(other.score(lead), model.score(lead));
    }
  }
  assert.equal(score(lead, "INTENT").model, "intent");
});

test("an invalid model throws one ModelError listing every problem", () => {
  const model = Model.preset("balanced").toJSON();
  model.blend.fit = 7;
  model.thresholds.high = 10;
  model.fit.rules[0].field = "";
  const error = thrown(() => Model.parse(model));
  assert.equal(error.name, "ModelError");
  assert.ok(error.problems.length >= 3, JSON.stringify(error.problems));
  for (const p of error.problems) assert.ok(error.message.includes(p.message), p.message);
  assert.ok(error.problems.some((p) => p.path.startsWith("blend")));
  assert.ok(error.problems.some((p) => p.path.startsWith("fit.rules[0]")));

  const toml = thrown(() => Model.parse("name = \n"));
  assert.equal(toml.name, "ModelError");
  assert.match(toml.message, /not valid TOML/);
  assert.match(thrown(() => Model.preset("nope")).message, /unknown model preset "nope".*balanced/);
  assert.match(thrown(() => score(IDEAL, "nope")).message, /unknown model preset/);
  assert.equal(thrown(() => score(IDEAL, 42)).name, "TypeError");
  assert.equal(thrown(() => Model.parse(undefined)).name, "TypeError");
});

test("bad leads throw an Error naming the field, never a trap", () => {
  const cases = [
    [{ company_name: "A", employee_count: "abc" }, "employee_count", /expected a whole number >= 0, got "abc"/],
    [{ company_name: "A", employee_count: -3 }, "employee_count", /expected a whole number/],
    [{ company_name: "A", tech_stack: 5 }, "tech_stack", /expected a list of strings/],
    [{ company_name: "A", tech_stack: ["ok", 7] }, "tech_stack[1]", /expected/],
    [{ company_name: "A", contact: { email: "nope" } }, "contact.email", /e-mail address/],
    [{ company_name: "A", timezone: "Mars/Olympus" }, "timezone", /IANA time zone/],
    [{ company_name: "" }, "company_name", /non-empty/],
    [{ employee_count: 5 }, "company_name", /missing|required/],
    [[1, 2], null, /./],
    ["{not json", "(json)", /not valid JSON/],
    ["", "(json)", /not valid JSON/],
    // The limits of every way a lead enters Brim (brim-core's), with a short quote of the value.
    [{ company_name: "A".repeat(1_000_000) }, "company_name", /^company_name: expected at most 100 characters, got 1000000: "A{32}"…$/],
    [{ company_name: "A", tech_stack: Array(1000).fill("Zapier") }, "tech_stack", /expected at most 100 items/],
    ['{"company_name": "A", "company_name": "B"}', "company_name", /given twice in one lead/],
  ];
  for (const [lead, field, message] of cases) {
    const error = thrown(() => score(lead));
    assert.equal(error.name, "LeadError", `${JSON.stringify(lead)}: ${error.message}`);
    if (field) assert.equal(error.field, field, error.message);
    assert.match(error.message, message);
  }
  for (const lead of [undefined, null, () => 1, Symbol("x")]) {
    assert.equal(thrown(() => score(lead)).name, "TypeError");
  }
  assert.equal(thrown(() => score({ company_name: "A", employee_count: 10n })).name, "TypeError");
  const cyclic = { company_name: "A" };
  cyclic.self = cyclic;
  assert.equal(thrown(() => score(cyclic)).name, "TypeError");

  const many = thrown(() => scoreMany([IDEAL, IDEAL, { company_name: "C", industry: 3 }]));
  assert.equal(many.name, "LeadError");
  assert.equal(many.index, 2);
  assert.equal(many.field, "industry");
  assert.match(many.message, /^leads\[2\]: industry: /);
  assert.equal(thrown(() => scoreMany({ company_name: "x" })).field, "leads");
  assert.equal(scoreMany([]).length, 0);
  // The module still works after all of that.
  assert.equal(score(IDEAL).total_score, 100);
});

const AWKWARD = "\uFEFFcompany_name,employee_count,industry,tech_stack,recent_job_posts,contact.email,notes\r\n" +
  "\"Café \"\"Zürich\"\", AG\",120,SaaS,Zapier; Salesforce,\"Head of\nOperations\",ops@cafe.example,x\r\n" +
  "Globex,lots,Retail,,,,\r\n" +
  "\r\n" +
  "東京ソフト,45,AI,Make,DevOps Engineer,,🚀 emoji\r\n" +
  ",5,,,,,\r\n" +
  "Last Co,7,Fintech,HubSpot,,bad-email,";

test("the streaming scorer gives the same rows at every chunk boundary", () => {
  const whole = scoreCsv(AWKWARD);
  assert.deepEqual(whole.results.map((r) => [r.row, r.score.company_name]),
    [[2, "Café \"Zürich\", AG"], [6, "東京ソフト"]]);
  assert.deepEqual(whole.errors.map((e) => [e.row, e.field]),
    [[4, "employee_count"], [7, "company_name"], [8, "contact.email"]]);
  assert.deepEqual(whole.results[0].score.reasoning.positive.slice(0, 2),
    ["Ideal company size (120 employees).", "Ideal industry: SaaS."]);

  const bytes = new TextEncoder().encode(AWKWARD);
  for (let size = 1; size <= 23; size++) {
    for (const asText of [false, true]) {
      const scorer = new StreamScorer();
      const got = { results: [], errors: [] };
      const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
      for (let i = 0; i < bytes.length; i += size) {
        const piece = bytes.subarray(i, i + size);
        // Text chunks split where a decoder would; byte chunks split anywhere, even in "ü".
        const part = scorer.push(asText ? decoder.decode(piece, { stream: true }) : piece);
        got.results.push(...part.results);
        got.errors.push(...part.errors);
      }
      const last = scorer.finish();
      got.results.push(...last.results);
      got.errors.push(...last.errors);
      assert.deepEqual(got, whole, `chunks of ${size} ${asText ? "characters" : "bytes"}`);
      assert.equal(scorer.rowsRead, 5);
      assert.equal(scorer.bytesRead, bytes.length);
      assert.deepEqual(scorer.unknownColumns, ["notes"]);
      scorer.free();
    }
  }
});

test("a summary ranks on numbers, and reportFor explains a row from its bytes", () => {
  const bytes = new TextEncoder().encode(AWKWARD);
  const full = scoreCsv(bytes);
  for (const size of [1, 5, bytes.length]) {
    const scorer = new StreamScorer({ detail: "summary" });
    const got = { results: [], errors: [] };
    const parts = [];
    for (let i = 0; i < bytes.length; i += size) parts.push(scorer.push(bytes.subarray(i, i + size)));
    parts.push(scorer.finish());
    for (const part of parts) {
      got.results.push(...part.results);
      got.errors.push(...part.errors);
    }
    assert.deepEqual(got.errors, full.errors);
    assert.equal(got.results.length, full.results.length);
    got.results.forEach((r, i) => {
      const f = full.results[i];
      assert.deepEqual([r.row, r.start, r.end], [f.row, f.start, f.end]);
      assert.deepEqual(Object.keys(r.score), ["fit_score", "intent_score", "total_score", "confidence", "action"]);
      for (const k of Object.keys(r.score)) assert.equal(r.score[k], f.score[k], k);
      // The row's own bytes give the full report again, as bytes or as text.
      const record = bytes.subarray(r.start, r.end);
      assert.deepEqual(scorer.reportFor(record), f.score);
      assert.deepEqual(scorer.reportFor(new TextDecoder().decode(record)), f.score);
    });
    const bad = thrown(() => scorer.reportFor("Globex,lots,Retail,,,,\n"));
    assert.equal(bad.name, "LeadError");
    assert.equal(bad.field, "employee_count");
    scorer.free();
  }
  assert.equal(thrown(() => new StreamScorer({ detail: "some" })).name, "TypeError");
  assert.equal(thrown(() => new StreamScorer().reportFor(null)).name, "TypeError");
  const jsonl = '{"company_name": "A", "employee_count": 50}\n\n{"company_name": "B"}';
  const lines = scoreCsv(jsonl, { format: "jsonl", detail: "summary" });
  assert.deepEqual(lines.results.map((r) => jsonl.slice(r.start, r.end)),
    ['{"company_name": "A", "employee_count": 50}', '{"company_name": "B"}']);
});

test("the streaming scorer reads JSON lines, and stops at a file it cannot read", () => {
  const lines = scoreCsv('{"company_name": "A", "employee_count": 50}\n\nnot json\n{"company_name": "B"}',
    { format: "jsonl" });
  assert.deepEqual(lines.results.map((r) => r.row), [1, 4]);
  assert.deepEqual(lines.errors.map((e) => [e.row, e.field]), [[3, "(json)"]]);

  const noName = thrown(() => scoreCsv("name,size\nAcme,3\n"));
  assert.equal(noName.name, "InputError");
  assert.equal(noName.line, 1);
  assert.match(noName.message, /no company_name column \(found: name, size\)/);
  assert.equal(thrown(() => scoreCsv("")).name, "InputError");
  assert.equal(thrown(() => new StreamScorer({ format: "xml" })).name, "TypeError");
  assert.equal(thrown(() => new StreamScorer().push(42)).name, "TypeError");
  const bad = new StreamScorer({ format: "jsonl" });
  bad.finish();
  assert.equal(thrown(() => bad.push("more")).name, "InputError");
});

test("random input never traps", () => {
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648);
  const alphabet = ['"', ",", ";", "\n", "\r", "a", "1", "é", "\uFEFF", "{", "}", ":", " ", "\\"];
  for (let n = 0; n < 300; n++) {
    let text = n % 2 ? "company_name,employee_count,tech_stack\n" : "";
    const length = next() % 80;
    for (let i = 0; i < length; i++) text += alphabet[next() % alphabet.length];
    for (const format of ["csv", "jsonl"]) {
      try {
        scoreCsv(text, { format });
      } catch (error) {
        assert.equal(error.name, "InputError", `${JSON.stringify(text)}: ${error.message}`);
      }
    }
    try {
      score(text);
    } catch (error) {
      assert.equal(error.name, "LeadError", `${JSON.stringify(text)}: ${error.message}`);
    }
    const bytes = new Uint8Array(length);
    for (let i = 0; i < length; i++) bytes[i] = next() % 256;
    try {
      new StreamScorer().push(bytes);
    } catch (error) {
      assert.equal(error.name, "InputError");
    }
  }
  assert.equal(score(IDEAL).total_score, 100);
});

/** `brim score FILE --format jsonl`: the results, and the per-line errors from stderr. */
function brimScore(file, model = "balanced") {
  let stdout;
  let stderr = "";
  try {
    stdout = execFileSync(brim, ["score", file, "--format", "jsonl", "--model", model],
      { maxBuffer: 1 << 30, stdio: ["ignore", "pipe", "pipe"] }).toString();
  } catch (error) {
    // Exit code 2: some leads failed; the rest were written.
    assert.equal(error.status, 2, error.stderr?.toString());
    stdout = error.stdout.toString();
    stderr = error.stderr.toString();
  }
  const errors = [...stderr.matchAll(/^line (\d+): ([^:\n]+): (.*)$/gm)]
    .map(([, row, field, message]) => ({ row: Number(row), field, message }));
  return { results: stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l)), errors };
}

function generatedCsv(n) {
  let seed = 20261205;
  const rand = (k) => (seed = (seed * 1103515245 + 12345) % 2147483648) % k;
  const industries = ["SaaS", "Fintech", "AI", "Retail", "E-commerce", "Government", "Biotech", ""];
  const stages = ["Seed", "Series A", "Series B", "Series C", ""];
  const tools = ["Zapier", "Salesforce", "HubSpot", "Make", "AWS", "Segment"];
  const jobs = ["Head of Operations", "Account Executive", "DevOps Engineer", "RevOps Manager", "Chef"];
  const news = ["raises $20M Series B", "opens a London office", "announces layoffs", "appoints new CFO", "acquires Initech"];
  const zones = ["Europe/Berlin", "America/New_York", "Asia/Kolkata", ""];
  const quote = (s) => (/[",\n;]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);
  const rows = ["company_name,employee_count,industry,funding_stage,tech_stack,recent_job_posts,news_mentions,contact.email,timezone,attributes.plan"];
  for (let i = 0; i < n; i++) {
    const name = i % 997 === 5 ? `Quoted, "Co" ${i}` : `Company ${i}`;
    const count = i % 1999 === 7 ? "many" : String(rand(1200));
    const pick = (list, k) => Array.from({ length: rand(k + 1) }, () => list[rand(list.length)]).join("; ");
    rows.push([quote(name), count, industries[rand(industries.length)], stages[rand(stages.length)],
      pick(tools, 3), pick(jobs, 2), quote(pick(news.map((h) => `${name} ${h}`), 2)),
      i % 10 === 0 ? `ops${i}@example.com` : "", zones[rand(zones.length)], rand(2) ? "pro" : ""].join(","));
  }
  return rows.join("\n") + "\n";
}

test("the same results as `brim score`, on examples/ and 10,000 generated leads", { skip: !existsSync(brim) && `no brim binary at ${brim}` }, async () => {
  const examples = join(root, "examples/leads.jsonl");
  for (const model of presets()) {
    const native = brimScore(examples, model);
    const text = readFileSync(examples, "utf8");
    const lines = scoreCsv(text, { format: "jsonl", model });
    assert.deepEqual(lines.results.map((r) => r.score), native.results, model);
    // The same leads as parsed objects.
    const parsed = text.split("\n").filter(Boolean).map((l) => JSON.parse(l));
    assert.deepEqual(scoreMany(parsed, model), native.results, model);
  }

  const dir = mkdtempSync(join(tmpdir(), "brim-wasm-"));
  const file = join(dir, "leads.csv");
  writeFileSync(file, generatedCsv(10_000));
  for (const model of ["balanced", "intent"]) {
    const native = brimScore(file, model);
    assert.ok(native.results.length > 9_900, `${native.results.length}`);
    assert.ok(native.errors.length > 0);
    // Read in 64 KiB pieces, as a browser File stream or fs stream gives them.
    const got = { results: [], errors: [] };
    for await (const part of scoreStream(createReadStream(file, { highWaterMark: 65536 }), { model })) {
      got.results.push(...part.results);
      got.errors.push(...part.errors);
    }
    assert.equal(got.results.length, native.results.length);
    for (let i = 0; i < native.results.length; i++) {
      assert.deepEqual(got.results[i].score, native.results[i], `result ${i}`);
    }
    assert.deepEqual(got.errors, native.errors);
    // Ranked on summaries, explained from each row's bytes: the same as the full reports.
    const bytes = readFileSync(file);
    const scorer = new StreamScorer({ model, detail: "summary" });
    const summary = scorer.push(bytes).results.concat(scorer.finish().results);
    assert.equal(summary.length, native.results.length);
    summary.forEach((r, i) => {
      assert.equal(r.score.total_score, native.results[i].total_score, `summary ${i}`);
      if (i % 7 === 0) assert.deepEqual(scorer.reportFor(bytes.subarray(r.start, r.end)), native.results[i], `report ${i}`);
    });
    scorer.free();
  }
});

test("the README's examples run", () => {
  const readme = readFileSync(join(pkg, "README.md"), "utf8");
  const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);
  assert.ok(blocks.length >= 1);
  const dir = mkdtempSync(join(tmpdir(), "brim-wasm-readme-"));
  // The learned-model example reads model.json: one trained by brim on lead fields.
  const csv = join(dir, "outcomes.csv");
  writeFileSync(csv, "employee_count,industry,converted\n" + Array.from({ length: 600 }, (_, i) => {
    const employees = 10 + ((i * 37) % 500);
    const industry = ["SaaS", "Retail", "Logistics"][i % 3];
    return `${employees},${industry},${(employees > 200) === (industry === "SaaS") ? 1 : 0}`;
  }).join("\n") + "\n");
  execFileSync(brim, ["train", csv, "--label", "converted", "--name", "conversion", "--output", join(dir, "model.json")],
    { stdio: ["ignore", "ignore", "pipe"] });
  blocks.forEach((code, i) => {
    const file = join(dir, `example${i}.mjs`);
    writeFileSync(file, code
      .replaceAll('from "brim-wasm"', `from ${JSON.stringify(pathToFileURL(join(pkg, "node.js")).href)}`)
      .replaceAll('from "brim-wasm/learn"', `from ${JSON.stringify(pathToFileURL(join(pkg, "learn-node.js")).href)}`));
    const out = execFileSync(process.execPath, [file], { cwd: dir }).toString();
    // Each `console.log(...); // expected` comment is what the line prints.
    const expected = [...code.matchAll(/console\.log\(.*\);\s*\/\/ (.*)$/gm)].map((m) => m[1].replaceAll('"', ""));
    assert.deepEqual(out.trim().split("\n"), expected);
  });
});
