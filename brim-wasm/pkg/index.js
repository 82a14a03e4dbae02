// brim-wasm for browsers and bundlers: fetches and compiles brim_wasm_bg.wasm (beside this
// file) before anything is exported, so `import { score } from "brim-wasm"` is ready to use.
import init from "./brim_wasm.js";

await init({ module_or_path: new URL("./brim_wasm_bg.wasm", import.meta.url) });

export * from "./api.js";
