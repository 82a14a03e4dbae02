// Type declarations of brim-wasm/learn (the same for the browser entry, learn.js, and Node's,
// learn-node.js).

import type { Lead } from "./index.js";

/** One feature's part in a probability, on the log-odds scale (positive: towards converting). */
export interface FeatureContribution {
  /** `column` or `column = value`, e.g. `uses zapier`, `industry = SaaS`. */
  feature: string;
  contribution: number;
}

/** A probability and the features that moved it most, strongest first. */
export interface Explained {
  /** The probability of converting, 0..1. */
  probability: number;
  contributions: FeatureContribution[];
}

/** Predicted against observed conversion in one bin of predicted probability. */
export interface CalibrationBin {
  from: number;
  to: number;
  rows: number;
  predicted: number;
  observed: number;
}

/** What a learned model is and what training measured. */
export interface LearnedModelInfo {
  name: string;
  version: string;
  learner: "logistic" | "boosted" | "ensemble";
  label: string;
  /** Unix ms. */
  trained_at: number;
  n_rows: number;
  n_positive: number;
  /** Cross-validated metrics; `null` when trained with `--cv 0`. */
  evaluation: {
    folds: number;
    roc_auc: number;
    roc_auc_sd: number;
    log_loss: number;
    fold_roc_auc: number[];
    calibration: CalibrationBin[];
    top_decile_lift: number;
  } | null;
  top_features: { feature: string; weight: number }[];
  leak_warnings: { column: string; roc_auc: number }[];
  /** The columns it reads. */
  columns: string[];
}

/** A table row: values by the model's column names (`null` or absent: missing). */
export type Row = Record<string, string | number | boolean | null>;

/** A model trained on outcomes, checked and ready to predict. */
export class LearnedModel {
  private constructor();
  /** A saved model from its JSON text or the parsed object; throws a ModelError otherwise. */
  static parse(source: string | object): LearnedModel;
  readonly name: string;
  readonly version: string;
  info(): LearnedModelInfo;
  /** Each lead's probability of converting, in order (a model trained on leads). */
  predictLeads(leads: Lead[] | string): Float64Array;
  /** One lead's probability and the `n` (default 5) features behind it. */
  explainLead(lead: Lead | string, n?: number): Explained;
  /** Each row's probability (a model trained on a table such as a CRM export). */
  predictRows(rows: Row[] | string): Float64Array;
  /** One row's probability and the `n` (default 5) features behind it. */
  explainRow(row: Row | string, n?: number): Explained;
  /** Frees the model's memory now instead of at garbage collection. */
  free(): void;
}

/** Loads the learned-model module on first use, then the model (JSON text or object). */
export function loadLearnedModel(source: string | object): Promise<LearnedModel>;
