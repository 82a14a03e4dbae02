// brim-wasm's JavaScript API: thin functions over the wasm-bindgen exports of brim_wasm.js.
// The entry points (index.js for browsers and bundlers, node.js for Node.js) load the .wasm
// first, then re-export this module, so that everything here is ready on import.
import { Model, StreamScorer as RawStreamScorer, presets as rawPresets } from "./brim_wasm.js";

export { Model };

const compiled = new Map();

/** The compiled model for a preset name, a Model, or undefined (balanced). */
function resolve(model) {
  if (model === undefined || model === null) model = "balanced";
  if (model instanceof Model) return model;
  if (typeof model === "string") {
    const key = model.toLowerCase();
    let found = compiled.get(key);
    if (!found) {
      found = Model.preset(model);
      compiled.set(key, found);
    }
    return found;
  }
  const error = new TypeError(
    `model: expected a preset name (${presets().join(", ")}) or a Model, got ${model === null ? "null" : typeof model}`);
  throw error;
}

/** The names of the preset models. */
export function presets() {
  return rawPresets();
}

/** Scores one lead with a preset (by name, default "balanced") or a Model. */
export function score(lead, model) {
  return resolve(model).score(lead);
}

/** Scores an array of leads in order; the first bad lead throws a LeadError naming its index. */
export function scoreMany(leads, model) {
  return resolve(model).scoreMany(leads);
}

function summaryOf(detail) {
  if (detail === undefined || detail === "full") return false;
  if (detail === "summary") return true;
  throw new TypeError(`detail: expected "full" or "summary", got ${JSON.stringify(detail)}`);
}

/** Bytes of a chunk: a string as UTF-8, an ArrayBuffer or any view as its bytes. */
function bytesOf(chunk, what) {
  if (typeof chunk === "string") return new TextEncoder().encode(chunk);
  if (chunk instanceof Uint8Array) return chunk;
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new TypeError(`${what}: expected a string or bytes, got ${chunk === null ? "null" : typeof chunk}`);
}

function formatOf(format) {
  if (format === undefined) return "csv";
  if (format === "csv" || format === "jsonl" || format === "ndjson") return format;
  throw new TypeError(`format: expected "csv" or "jsonl", got ${JSON.stringify(format)}`);
}

/**
 * Scores a CSV or JSON-lines file fed a chunk at a time: `push(chunk)` returns the rows that
 * chunk completed, `finish()` the last one. Chunks are strings or bytes and may end anywhere.
 * With `detail: "summary"` each row carries its numbers only; `reportFor(bytes)` explains one.
 */
export class StreamScorer {
  #raw;
  constructor(options = {}) {
    this.#raw = new RawStreamScorer(resolve(options.model), formatOf(options.format), summaryOf(options.detail));
  }
  /** Reads a chunk (string, Uint8Array, ArrayBuffer or any ArrayBuffer view). */
  push(chunk) {
    if (typeof chunk === "string") return this.#raw.pushText(chunk);
    return this.#raw.pushBytes(bytesOf(chunk, "chunk"));
  }
  /** One row's full report, read again from its bytes (`start`..`end` of the input). */
  reportFor(record) {
    return this.#raw.reportFor(bytesOf(record, "record"));
  }
  /** Ends the input and scores the last row, if it had no line break after it. */
  finish() {
    return this.#raw.finish();
  }
  /** Bytes read so far. */
  get bytesRead() {
    return this.#raw.bytesRead;
  }
  /** Rows (scored or not) read so far. */
  get rowsRead() {
    return this.#raw.rowsRead;
  }
  /** CSV header cells that are not lead fields and are ignored. */
  get unknownColumns() {
    return this.#raw.unknownColumns;
  }
  /** Frees the memory held in WebAssembly now (it is also freed when garbage-collected). */
  free() {
    this.#raw.free();
  }
}

/** Scores a whole CSV (or JSON-lines, with `{format: "jsonl"}`) text or byte array. */
export function scoreCsv(input, options = {}) {
  const scorer = new StreamScorer(options);
  try {
    const first = scorer.push(input);
    const last = scorer.finish();
    for (const r of last.results) first.results.push(r);
    for (const e of last.errors) first.errors.push(e);
    return first;
  } finally {
    scorer.free();
  }
}

/**
 * Scores a stream (a web ReadableStream such as `file.stream()`, or any async iterable of
 * strings or bytes such as Node's `fs.createReadStream(path)`), yielding `{results, errors}`
 * as the chunks are read, in input order. `onProgress(bytesRead)` is called after each chunk.
 */
export async function* scoreStream(source, options = {}) {
  const scorer = new StreamScorer(options);
  try {
    const iterable = typeof source[Symbol.asyncIterator] === "function" ? source
      : typeof source.getReader === "function" ? readerIterable(source) : source;
    for await (const chunk of iterable) {
      const part = scorer.push(chunk);
      if (options.onProgress) options.onProgress(scorer.bytesRead);
      if (part.results.length || part.errors.length) yield part;
    }
    const last = scorer.finish();
    if (last.results.length || last.errors.length) yield last;
  } finally {
    scorer.free();
  }
}

async function* readerIterable(stream) {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}
