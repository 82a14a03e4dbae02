//! Finds the npm package brim-wasm (built by `scripts/build-wasm` into `brim-wasm/pkg`, or the
//! folder in `BRIM_WASM_PKG`) so that the activation page can serve it and score visitors' files
//! in their browsers. Without it the binary still builds, and `/activate` says how to add it.

use std::path::PathBuf;

const FILES: [&str; 4] = ["index.js", "api.js", "brim_wasm.js", "brim_wasm_bg.wasm"];

fn main() {
    println!("cargo::rustc-check-cfg=cfg(brim_wasm_pkg)");
    println!("cargo::rerun-if-env-changed=BRIM_WASM_PKG");
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let dir = match std::env::var_os("BRIM_WASM_PKG") {
        Some(dir) => PathBuf::from(dir),
        None => manifest.join("../brim-wasm/pkg"),
    };
    if FILES.iter().all(|f| dir.join(f).is_file()) {
        let dir = dir.canonicalize().expect("the folder exists");
        for f in FILES {
            println!("cargo::rerun-if-changed={}", dir.join(f).display());
        }
        println!("cargo::rustc-cfg=brim_wasm_pkg");
        println!("cargo::rustc-env=BRIM_WASM_PKG_DIR={}", dir.display());
    } else {
        // Build again once the package appears.
        let watch = dir.parent().filter(|p| p.is_dir()).unwrap_or(&manifest);
        println!("cargo::rerun-if-changed={}", watch.display());
        println!(
            "cargo::warning=no brim-wasm package in {}: /activate cannot score in the browser \
             (run scripts/build-wasm, then build brim again)",
            dir.display()
        );
    }
}
