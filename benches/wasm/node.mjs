// brim-wasm in Node.js: scoreMany on parsed objects, score one by one, and the streaming CSV
// scorer, each timed as the median of several runs over the same leads.
//   node benches/wasm/node.mjs LEADS.jsonl LEADS.csv [PKG_DIR]
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [jsonl, csv, pkgArg] = process.argv.slice(2);
const pkg = resolve(pkgArg || join(import.meta.dirname, "../../brim-wasm/pkg"));
const { Model, scoreCsv } = await import(pathToFileURL(join(pkg, "node.js")).href);

const leads = readFileSync(jsonl, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
const csvText = readFileSync(csv, "utf8");
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function time(name, runs, fn) {
  fn(); // warm-up
  const ms = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn();
    ms.push(performance.now() - t);
  }
  const m = median(ms);
  console.log(`${name.padEnd(52)} median ${m.toFixed(1).padStart(7)} ms  ${(leads.length / m * 1000 / 1e3).toFixed(0).padStart(5)} k leads/s  (${runs} runs)`);
}

console.log(`${leads.length} leads; node ${process.version}`);
for (const name of ["balanced", "aggressive"]) {
  const model = Model.preset(name);
  time(`scoreMany(objects, "${name}")`, 7, () => model.scoreMany(leads));
}
const balanced = Model.preset("balanced");
time("score(object) one by one, balanced", 5, () => { for (const l of leads) balanced.score(l); });
time("scoreCsv(text), balanced", 5, () => scoreCsv(csvText));
time('scoreCsv(text, {detail: "summary"}), balanced', 5, () => scoreCsv(csvText, { detail: "summary" }));
