// Uses every export of brim-wasm with its declared types; `tsc --noEmit --strict` checks it
// against the installed package (scripts/test-wasm), and node runs the compiled-free parts in
// the scratch project's smoke test.
import {
  Model, StreamScorer, presets, score, scoreCsv, scoreMany, scoreStream,
  type Action, type Chunk, type Contribution, type InputError, type Lead, type LeadError,
  type ModelError, type ModelLike, type ModelProblem, type RowError, type ScoredChunk,
  type ScoredRow, type ScoreReport, type ScoreStreamOptions, type Signal, type SignalKind,
  type StreamOptions, type ScoreSummary, type Detail, type ScoreFor, type DetailOption,
} from "brim-wasm";

const lead: Lead = {
  company_name: "Northwind Analytics", employee_count: 140, industry: "SaaS",
  tech_stack: ["Zapier"], recent_job_posts: ["Head of Operations"],
  contact: { email: "maya@northwind.example" }, timezone: "America/New_York",
  attributes: { plan: "pro", seats: 12, trial: true },
};
const report: ScoreReport = score(lead);
const action: Action = report.action;
const total: number = report.total_score;
const first: Contribution | undefined = report.contributions[0];
const signals: Signal[] = report.signals ?? [];
const kinds: SignalKind[] = signals.map((s) => s.kind);
const reasons: string[] = report.reasoning.positive;

const names: string[] = presets();
const model: ModelLike = Model.preset("intent");
const custom: Model = Model.parse(Model.preset("balanced").toToml());
const fromObject: Model = Model.parse(custom.toJSON());
const many: ScoreReport[] = scoreMany([lead], "aggressive");
const again: ScoreReport[] = fromObject.scoreMany([lead]);
const one: ScoreReport = custom.score(JSON.stringify(lead));
const label: string = `${custom.name} v${custom.version}`;

const options: StreamOptions = { model, format: "csv" };
const scorer = new StreamScorer(options);
const chunk: Chunk = new TextEncoder().encode("company_name,employee_count\nAcme,50\n");
const part: ScoredChunk = scorer.push(chunk);
const last: ScoredChunk = scorer.finish();
const rows: ScoredRow[] = [...part.results, ...last.results];
const bad: RowError[] = part.errors;
const read: number = scorer.bytesRead + scorer.rowsRead;
const ignored: string[] = scorer.unknownColumns;
scorer.free();
const whole: ScoredChunk = scoreCsv("company_name\nAcme\n", { format: "csv" });

// Summaries: numbers only, then one row's full report from its bytes.
const ranker = new StreamScorer({ detail: "summary" });
const file = new TextEncoder().encode("company_name\nAcme\n");
const summaries: ScoredChunk<ScoreSummary> = ranker.push(file);
const top: ScoredRow<ScoreSummary> | undefined = summaries.results[0];
const totalOnly: number | undefined = top?.score.total_score;
const explained: ScoreReport | undefined = top && ranker.reportFor(file.subarray(top.start, top.end));
const detail: Detail = "summary";
const fullOption: DetailOption<"full"> = { detail: "full" };
const fullRows: ScoredChunk<ScoreReport> = scoreCsv("company_name\nAcme\n", fullOption);
const summaryOf: ScoreFor<"summary"> = { fit_score: 1, intent_score: 2, total_score: 3, confidence: 0.5, action: "low_priority_monitoring" };
const quick: ScoredChunk<ScoreSummary> = scoreCsv("company_name\nAcme\n", { detail: "summary" });
void [totalOnly, explained, detail, summaryOf, quick, fullRows];

async function stream(source: AsyncIterable<Chunk>): Promise<number> {
  const streamOptions: ScoreStreamOptions = { onProgress: (bytes: number) => void bytes };
  let n = 0;
  for await (const piece of scoreStream(source, streamOptions)) n += piece.results.length;
  return n;
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    if (error.name === "LeadError") return (error as LeadError).field;
    if (error.name === "ModelError") return ((error as ModelError).problems ?? []).map((p: ModelProblem) => p.path).join();
    if (error.name === "InputError") return String((error as InputError).line);
  }
  return String(error);
}

export const used = [action, total, first, kinds, reasons, names, many, again, one, label, rows, bad,
  read, ignored, whole, stream, describe];

// brim-wasm/learn: a learned model, loaded when needed.
import {
  loadLearnedModel, LearnedModel, type Explained, type FeatureContribution, type LearnedModelInfo,
  type Row,
} from "brim-wasm/learn";

async function learned(text: string): Promise<number> {
  const m: LearnedModel = await loadLearnedModel(text);
  const again: LearnedModel = LearnedModel.parse(JSON.parse(text) as object);
  const info: LearnedModelInfo = m.info();
  const auc: number | undefined = info.evaluation?.roc_auc;
  const p: Float64Array = m.predictLeads([lead]);
  const why: Explained = m.explainLead(lead, 3);
  const first: FeatureContribution | undefined = why.contributions[0];
  const row: Row = { employee_count: 40, industry: "SaaS", trial: true, plan: null };
  const q: Float64Array = m.predictRows([row]);
  const r: Explained = m.explainRow(row);
  again.free();
  return p[0] + q[0] + r.probability + (auc ?? 0) + (first?.contribution ?? 0) + m.name.length + m.version.length;
}
void learned;
