// Type declarations of brim-wasm (the same for the browser entry, index.js, and Node's, node.js).

/** A company to score: `company_name` is required, everything else is optional. */
export interface Lead {
  /** Your own id for the company; when given it is the `company_id`. */
  id?: string;
  company_name: string;
  employee_count?: number;
  industry?: string;
  /** e.g. "Seed", "Series A". */
  funding_stage?: string;
  tech_stack?: string[];
  recent_job_posts?: string[];
  news_mentions?: string[];
  contact?: { name?: string; email?: string; title?: string };
  /** IANA time zone, e.g. "Europe/Berlin". */
  timezone?: string;
  country?: string;
  domain?: string;
  /** Your own signals, read by rules on `attributes.NAME`. */
  attributes?: Record<string, string | number | boolean>;
}

export type Action = "high_priority_outreach" | "medium_priority_outreach" | "low_priority_monitoring";

/** One rule's part in a score. */
export interface Contribution {
  rule: string;
  category: "fit" | "intent";
  outcome: "matched" | "otherwise" | "missing";
  /** Index of the matching case, for `matched`. */
  case?: number;
  points: number;
  weight: number;
  /** Present (and `false`) only when the points did not count (an absent field under `skip`). */
  counted?: false;
}

export type SignalKind = "funding_round" | "expansion" | "leadership_hire" | "ops_hiring" | "acquisition" | "layoffs";

/** An intent signal read from the lead's news or job posts. */
export interface Signal {
  kind: SignalKind;
  source: "news_mentions" | "recent_job_posts";
  index: number;
  text: string;
  phrase: string;
  funding?: { stage?: string; amount?: number; currency?: string };
}

/** A score with its reasons: the same JSON as `brim score` and the HTTP API's `/api/score-company`. */
export interface ScoreReport {
  company_id: string;
  company_name: string;
  model: string;
  model_version: string;
  fit_score: number;
  intent_score: number;
  total_score: number;
  /** Share of the model's inputs present, 0..1. */
  confidence: number;
  action: Action;
  reasoning: { positive: string[]; negative: string[]; missing: string[] };
  contributions: Contribution[];
  /** Present when the model reads intent signals and some were found. */
  signals?: Signal[];
}

/** A preset name or a compiled model; `undefined` means "balanced". */
export type ModelLike = string | Model;

/** A score's numbers and action without the reasons: what `detail: "summary"` gives. */
export interface ScoreSummary {
  fit_score: number;
  intent_score: number;
  total_score: number;
  confidence: number;
  action: Action;
}

/** How much a streaming scorer gives per row: the full report (default) or the summary. */
export type Detail = "full" | "summary";

/** The score a row carries for a Detail. */
export type ScoreFor<D extends Detail> = D extends "summary" ? ScoreSummary : ScoreReport;

/**
 * A lead that was scored: the line it started on (in CSV the header is line 1), and where its
 * bytes are in the input (`start`..`end`, UTF-8 byte offsets; with a File,
 * `file.slice(start, end)` is the row, for `StreamScorer.reportFor`).
 */
export interface ScoredRow<S = ScoreReport> {
  row: number;
  start: number;
  end: number;
  score: S;
}

/** A row that could not be read: its line, the field, and what was expected. */
export interface RowError {
  row: number;
  field: string;
  message: string;
}

/** What a chunk of a streamed file completed, in input order. */
export interface ScoredChunk<S = ScoreReport> {
  results: ScoredRow<S>[];
  errors: RowError[];
}

/** A problem in a model file, at a path such as `fit.rules[0].cases[1]`. */
export interface ModelProblem {
  path: string;
  message: string;
}

/** A bad lead (`name === "LeadError"`): `field` names it, `index` is its place in `scoreMany`'s array. */
export interface LeadError extends Error {
  name: "LeadError";
  field: string;
  index?: number;
}

/** An invalid model or unknown preset (`name === "ModelError"`); `problems` lists every problem found. */
export interface ModelError extends Error {
  name: "ModelError";
  problems?: ModelProblem[];
}

/** A file that cannot be read as leads at all, e.g. a CSV without a company_name column. */
export interface InputError extends Error {
  name: "InputError";
  line: number;
}

/** A scoring model, compiled and ready to score. */
export class Model {
  private constructor();
  /** A preset: "balanced", "aggressive", "conservative" or "intent". Throws a ModelError for other names. */
  static preset(name: string): Model;
  /** A model from TOML or JSON text, or a plain object; throws one ModelError listing every problem. */
  static parse(source: string | object): Model;
  readonly name: string;
  readonly version: string;
  /** The model as TOML, to save and edit. */
  toToml(): string;
  /** The model as a plain object (`JSON.stringify(model)` writes a model file). */
  toJSON(): object;
  /** Scores one lead (an object or its JSON text). Throws a LeadError naming the field. */
  score(lead: Lead | string): ScoreReport;
  /** Scores leads in order. The first bad lead throws a LeadError with its `index`. */
  scoreMany(leads: Lead[] | string): ScoreReport[];
  /** Frees the model's memory now (it is also freed when garbage-collected). */
  free(): void;
}

/** The preset models' names. */
export function presets(): string[];

/** Scores one lead with a preset (by name, default "balanced") or a Model. */
export function score(lead: Lead | string, model?: ModelLike): ScoreReport;

/** Scores leads in order; the first bad lead throws a LeadError naming its index and field. */
export function scoreMany(leads: Lead[] | string, model?: ModelLike): ScoreReport[];

export interface StreamOptions {
  /** A preset name or a Model; default "balanced". */
  model?: ModelLike;
  /** "csv" (default) or "jsonl" (one JSON object per line; "ndjson" is the same). */
  format?: "csv" | "jsonl" | "ndjson";
}

/**
 * `detail`: "full" (default) gives each row's full report; "summary" the numbers and the action
 * only, several times faster, for ranking a big file (then `reportFor` the rows you show).
 */
export interface DetailOption<D extends Detail> {
  detail?: D;
}

export type Chunk = string | Uint8Array | ArrayBuffer | ArrayBufferView;

/**
 * Scores a CSV or JSON-lines file pushed a chunk at a time; only the row being read is kept
 * between chunks. `new StreamScorer({detail: "summary"})` is a `StreamScorer<"summary">`.
 */
export interface StreamScorer<D extends Detail = "full"> {
  /** Reads a chunk (it may end anywhere, even inside a quoted cell or a UTF-8 character). Throws an InputError for a file that cannot be read at all. */
  push(chunk: Chunk): ScoredChunk<ScoreFor<D>>;
  /** Ends the input and scores the last row. */
  finish(): ScoredChunk<ScoreFor<D>>;
  /**
   * One row's full report, read again from its bytes (`start`..`end` of the input) with the
   * header this scorer has read. A bad row throws its LeadError.
   */
  reportFor(record: Chunk): ScoreReport;
  readonly bytesRead: number;
  readonly rowsRead: number;
  /** CSV header cells that are not lead fields and are ignored. */
  readonly unknownColumns: string[];
  free(): void;
}

export const StreamScorer: {
  new (options: StreamOptions & { detail: "summary" }): StreamScorer<"summary">;
  new (options?: StreamOptions & DetailOption<"full">): StreamScorer<"full">;
  new (options?: StreamOptions & DetailOption<Detail>): StreamScorer<Detail>;
};

/** Scores a whole CSV (or JSON-lines) text or byte array. */
export function scoreCsv(input: Chunk, options: StreamOptions & { detail: "summary" }): ScoredChunk<ScoreSummary>;
export function scoreCsv(input: Chunk, options?: StreamOptions & DetailOption<"full">): ScoredChunk<ScoreReport>;
export function scoreCsv(input: Chunk, options?: StreamOptions & DetailOption<Detail>): ScoredChunk<ScoreReport | ScoreSummary>;

export interface ScoreStreamOptions extends StreamOptions {
  /** Called after each chunk with the bytes read so far. */
  onProgress?: (bytesRead: number) => void;
}

/** Scores a web ReadableStream (e.g. `file.stream()`) or an async iterable of chunks (e.g. Node's `fs.createReadStream`). */
export function scoreStream(
  source: ReadableStream<Uint8Array> | AsyncIterable<Chunk>,
  options: ScoreStreamOptions & { detail: "summary" },
): AsyncGenerator<ScoredChunk<ScoreSummary>, void, undefined>;
export function scoreStream(
  source: ReadableStream<Uint8Array> | AsyncIterable<Chunk>,
  options?: ScoreStreamOptions & DetailOption<"full">,
): AsyncGenerator<ScoredChunk<ScoreReport>, void, undefined>;
export function scoreStream(
  source: ReadableStream<Uint8Array> | AsyncIterable<Chunk>,
  options?: ScoreStreamOptions & DetailOption<Detail>,
): AsyncGenerator<ScoredChunk<ScoreReport | ScoreSummary>, void, undefined>;
