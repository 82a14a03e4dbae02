// brim-wasm/learn for browsers and bundlers: a model learned from outcomes (`brim train
// --output`), in a module of its own. Nothing is fetched on import: the first
// loadLearnedModel() fetches and compiles brim_learn_bg.wasm (beside this file), once.
import init, { LearnedModel } from "./brim_learn.js";

let ready;

/**
 * Loads a saved learned model (its JSON text or the parsed object), ready to predict.
 * A file that is not one throws a ModelError saying why.
 */
export async function loadLearnedModel(source) {
  ready ??= init({ module_or_path: new URL("./brim_learn_bg.wasm", import.meta.url) });
  await ready;
  return LearnedModel.parse(source);
}

export { LearnedModel };
