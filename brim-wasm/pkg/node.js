// brim-wasm for Node.js (18 and later): reads brim_wasm_bg.wasm from beside this file and
// compiles it before anything is exported. No flags, no fetch.
import { readFileSync } from "node:fs";
import { initSync } from "./brim_wasm.js";

initSync({ module: readFileSync(new URL("./brim_wasm_bg.wasm", import.meta.url)) });

export * from "./api.js";
