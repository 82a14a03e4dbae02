// The activation page's scorer: the npm package brim-wasm in a Web Worker, so that a big file
// is read, scored and ranked without freezing the page, and never leaves the visitor's browser.
// The worker keeps the ranked results; the page asks for one page of them at a time.
//
// A CSV or JSON-lines file is ranked on score summaries (numbers only, several times faster
// than full reports), and each row keeps where its bytes are in the file: the reasons of the
// rows on the page shown, and of every row in the CSV download, are computed from the file
// again. So what is held is a few numbers a row, never the file or its leads.
//
// The package is imported dynamically, after the message handler is in place: a static import
// of a module with a top-level await (brim-wasm fetches and compiles its .wasm) would leave the
// worker without a handler until the .wasm had arrived, and a file chosen meanwhile was lost.
const brim = import("/assets/brim-wasm/index.js");
brim.catch((error) => self.postMessage({ type: "unavailable", message: error.message }));
let StreamScorer, score;

/** Results best first: {row, start, end, score}; `report` once explained. Equal totals keep the file's order. */
let ranked = [];
/** Rows that could not be read: {row, field, message}. */
let failures = [];
/** "line" (CSV, JSON lines) or "item" (a JSON array). */
let unit = "line";
/** The file being shown, its format, and the scorer that read it (it knows the CSV header). */
let current = null;

self.onmessage = async ({ data }) => {
  try {
    ({ StreamScorer, score } = await brim);
  } catch (_) {
    return; // "unavailable" has been posted
  }
  try {
    if (data.type === "score") await scoreFile(data.file, data.pageSize);
    else if (data.type === "page") self.postMessage({ type: "page", ...(await page(data.page, data.pageSize)) });
    else if (data.type === "csv") self.postMessage({ type: "csv", blob: await resultsCsv() });
  } catch (error) {
    self.postMessage({ type: "error", name: error.name, message: error.message });
  }
};

function progress(done, total) {
  self.postMessage({ type: "progress", done, total });
}

/** Reads `file` as a JSON array, JSON lines or CSV (decided by its first character). */
async function scoreFile(file, pageSize) {
  ranked = [];
  failures = [];
  if (current?.scorer) current.scorer.free();
  current = null;
  const head = (await file.slice(0, 4096).text()).replace(/^\uFEFF/, "").trimStart();
  const name = (file.name || "").toLowerCase();
  // A .json file must hold JSON: one that does not start like it is reported as broken JSON,
  // not read as a CSV (whose first complaint would be a missing company_name column).
  if (/\.json$/.test(name) && !head.startsWith("[") && !head.startsWith("{")) {
    throw new Error(head.length
      ? "the file is not valid JSON: a .json file of leads starts with [ (an array of leads) or { (one lead per line)"
      : "the file is empty");
  }
  if (/\.(csv|tsv)$/.test(name) && (head.startsWith("[") || head.startsWith("{"))) {
    throw new Error("this .csv file holds JSON: save it as .json or .jsonl, or export it from your spreadsheet as CSV");
  }
  if (head.startsWith("[")) {
    unit = "item";
    current = { file, format: "array" };
    await scoreJsonArray(file);
  } else {
    unit = "line";
    const format = head.startsWith("{") ? "jsonl" : "csv";
    const scorer = new StreamScorer({ format, detail: "summary" });
    current = { file, format, scorer };
    for await (const part of chunks(file, scorer)) {
      for (const r of part.results) ranked.push(r);
      for (const e of part.errors) failures.push(e);
      progress(scorer.bytesRead, file.size);
    }
  }
  progress(file.size, file.size);
  // Array.prototype.sort is stable: equal totals stay in the file's order.
  ranked.sort((a, b) => b.score.total_score - a.score.total_score);
  const first = await page(0, pageSize);
  self.postMessage({
    type: "done",
    unit,
    count: ranked.length,
    failureCount: failures.length,
    failures: failures.slice(0, 200),
    top: first.rows.slice(0, 5).map((r) => ({ company_name: r.score.company_name,
      total_score: r.score.total_score, action: r.score.action })),
    ...first,
  });
}

/** Pushes the file through `scorer` a chunk at a time, yielding what each chunk completed. */
async function* chunks(file, scorer) {
  const reader = file.stream().getReader();
  for (;;) {
    const { done, value } = await reader.read();
    yield done ? scorer.finish() : scorer.push(value);
    if (done) return;
  }
}

async function scoreJsonArray(file) {
  let items;
  try {
    items = JSON.parse(await file.text());
  } catch (error) {
    throw new Error(`the file is not valid JSON: ${error.message}`);
  }
  if (!Array.isArray(items)) throw new Error("expected a JSON array of companies");
  items.forEach((item, i) => {
    try {
      const report = score(item);
      ranked.push({ row: i + 1, score: report, report });
    } catch (error) {
      failures.push({ row: i + 1, field: error.field || "(lead)", message: error.message.replace(`${error.field}: `, "") });
    }
    if (i % 5000 === 4999) progress(Math.round(((i + 1) / items.length) * file.size), file.size);
  });
}

/** Full reports for `entries`, read again from their bytes in the file (one read for all). */
async function explain(entries) {
  const missing = entries.filter((e) => !e.report);
  if (!missing.length) return;
  const { file, scorer } = current;
  const bytes = new Uint8Array(await new Blob(missing.map((e) => file.slice(e.start, e.end))).arrayBuffer());
  let at = 0;
  for (const e of missing) {
    const length = e.end - e.start;
    e.report = scorer.reportFor(bytes.subarray(at, at + length));
    at += length;
  }
}

async function page(number, size) {
  const pages = Math.max(1, Math.ceil(ranked.length / size));
  const n = Math.min(Math.max(0, number), pages - 1);
  const entries = ranked.slice(n * size, (n + 1) * size);
  await explain(entries);
  return { page: n, pages, pageSize: size, rows: entries.map((e) => ({ row: e.row, score: e.report })) };
}

/** A CSV cell: quoted when needed; a leading =, +, - or @ is defused so that a spreadsheet
 *  shows a hostile company name instead of running it as a formula. */
function cell(value) {
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function csvLine(rank, s) {
  return [rank, s.company_id, s.company_name, s.fit_score, s.intent_score, s.total_score,
    s.confidence.toFixed(2), s.action, s.reasoning.positive.join("; "),
    s.reasoning.negative.join("; "), s.reasoning.missing.join("; ")].map(cell).join(",");
}

/** Every ranked row with its reasons; for a CSV or JSON-lines file, from the file read again. */
async function resultsCsv() {
  const lines = new Array(ranked.length);
  if (current.format === "array") {
    ranked.forEach((e, i) => { lines[i] = csvLine(i + 1, e.report); });
  } else {
    const rankOf = new Map(ranked.map((e, i) => [e.row, i]));
    const scorer = new StreamScorer({ format: current.format });
    try {
      for await (const part of chunks(current.file, scorer)) {
        for (const r of part.results) {
          const i = rankOf.get(r.row);
          lines[i] = csvLine(i + 1, r.score);
        }
      }
    } finally {
      scorer.free();
    }
  }
  const header = ["rank", "company_id", "company_name", "fit_score", "intent_score", "total_score",
    "confidence", "action", "positive", "negative", "missing"].join(",");
  return new Blob([[header, ...lines].join("\n"), "\n"], { type: "text/csv" });
}
