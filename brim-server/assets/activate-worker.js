// The activation page's scorer: the npm package brim-wasm in a Web Worker, so that a big file
// is read, scored and ranked without freezing the page, and never leaves the visitor's browser.
// The worker keeps the ranked results; the page asks for one page of them at a time.
//
// The package is imported dynamically, after the message handler is in place: a static import
// of a module with a top-level await (brim-wasm fetches and compiles its .wasm) would leave the
// worker without a handler until the .wasm had arrived, and a file chosen meanwhile was lost.
const scorer = import("/assets/brim-wasm/index.js");
scorer.catch((error) => self.postMessage({ type: "unavailable", message: error.message }));
let StreamScorer, score;

/** Results best first: {row, score}; equal totals keep the file's order. */
let ranked = [];
/** Rows that could not be read: {row, field, message}. */
let failures = [];
/** "line" (CSV, JSON lines) or "item" (a JSON array). */
let unit = "line";

self.onmessage = async ({ data }) => {
  try {
    ({ StreamScorer, score } = await scorer);
  } catch (_) {
    return; // "unavailable" has been posted
  }
  try {
    if (data.type === "score") await scoreFile(data.file, data.pageSize);
    else if (data.type === "page") self.postMessage({ type: "page", ...page(data.page, data.pageSize) });
    else if (data.type === "csv") self.postMessage({ type: "csv", blob: resultsCsv() });
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
  const head = (await file.slice(0, 4096).text()).replace(/^\uFEFF/, "").trimStart();
  if (head.startsWith("[")) {
    unit = "item";
    await scoreJsonArray(file);
  } else {
    unit = "line";
    const scorer = new StreamScorer({ format: head.startsWith("{") ? "jsonl" : "csv" });
    try {
      const reader = file.stream().getReader();
      for (;;) {
        const { done, value } = await reader.read();
        const part = done ? scorer.finish() : scorer.push(value);
        for (const r of part.results) ranked.push(r);
        for (const e of part.errors) failures.push(e);
        if (done) break;
        progress(scorer.bytesRead, file.size);
      }
    } finally {
      scorer.free();
    }
  }
  progress(file.size, file.size);
  // Array.prototype.sort is stable: equal totals stay in the file's order.
  ranked.sort((a, b) => b.score.total_score - a.score.total_score);
  self.postMessage({
    type: "done",
    unit,
    count: ranked.length,
    failureCount: failures.length,
    failures: failures.slice(0, 200),
    top: ranked.slice(0, 5).map((r) => ({ company_name: r.score.company_name,
      total_score: r.score.total_score, action: r.score.action })),
    ...page(0, pageSize),
  });
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
      ranked.push({ row: i + 1, score: score(item) });
    } catch (error) {
      failures.push({ row: i + 1, field: error.field || "(lead)", message: error.message.replace(`${error.field}: `, "") });
    }
    if (i % 5000 === 4999) progress(Math.round(((i + 1) / items.length) * file.size), file.size);
  });
}

function page(number, size) {
  const pages = Math.max(1, Math.ceil(ranked.length / size));
  const n = Math.min(Math.max(0, number), pages - 1);
  return { page: n, pages, pageSize: size, rows: ranked.slice(n * size, (n + 1) * size) };
}

/** A CSV cell: quoted when needed; a leading =, +, - or @ is defused so that a spreadsheet
 *  shows a hostile company name instead of running it as a formula. */
function cell(value) {
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function resultsCsv() {
  const lines = [["rank", "company_id", "company_name", "fit_score", "intent_score", "total_score",
    "confidence", "action", "positive", "negative", "missing"].join(",")];
  ranked.forEach(({ score: s }, i) => {
    lines.push([i + 1, s.company_id, s.company_name, s.fit_score, s.intent_score, s.total_score,
      s.confidence.toFixed(2), s.action, s.reasoning.positive.join("; "),
      s.reasoning.negative.join("; "), s.reasoning.missing.join("; ")].map(cell).join(","));
  });
  return new Blob([lines.join("\n") + "\n"], { type: "text/csv" });
}
