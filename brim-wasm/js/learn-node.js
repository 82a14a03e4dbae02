// brim-wasm/learn for Node.js (18 and later): a model learned from outcomes (`brim train
// --output`), in a module of its own. Nothing is read on import: the first loadLearnedModel()
// compiles brim_learn_bg.wasm (beside this file), once.
import { readFileSync } from "node:fs";
import { initSync, LearnedModel } from "./brim_learn.js";

let ready = false;

/**
 * Loads a saved learned model (its JSON text or the parsed object), ready to predict.
 * A file that is not one throws a ModelError saying why.
 */
export async function loadLearnedModel(source) {
  if (!ready) {
    initSync({ module: readFileSync(new URL("./brim_learn_bg.wasm", import.meta.url)) });
    ready = true;
  }
  return LearnedModel.parse(source);
}

export { LearnedModel };
