//! Every `console` example in README.md and docs/*.md runs and prints what the docs show.
//!
//! A block is a list of `$ command` lines, each followed by its expected output: stdout, then
//! stderr, then `[exit N]` when the exit code is not 0. Commands run under `sh` from the
//! repository root with the freshly built `brim` first on PATH.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

struct Example {
    file: String,
    line: usize,
    command: String,
    expected: String,
}

fn examples(file: &Path) -> Vec<Example> {
    let text = std::fs::read_to_string(file).unwrap();
    let mut out = Vec::new();
    let mut in_block = false;
    let mut current: Option<Example> = None;
    for (i, line) in text.lines().enumerate() {
        if !in_block {
            in_block = line.trim_start() == "```console";
            continue;
        }
        if line.trim_start().starts_with("```") {
            in_block = false;
            out.extend(current.take());
            continue;
        }
        if let Some(cmd) = line.strip_prefix("$ ") {
            out.extend(current.take());
            current = Some(Example {
                file: file.display().to_string(),
                line: i + 1,
                command: cmd.to_string(),
                expected: String::new(),
            });
        } else if let Some(ex) = current.as_mut() {
            ex.expected.push_str(line);
            ex.expected.push('\n');
        }
    }
    out
}

#[test]
fn every_console_example_in_the_docs_runs_as_shown() {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_brim"));
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut files = vec![root().join("README.md")];
    for entry in std::fs::read_dir(root().join("docs")).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "md") {
            files.push(p);
        }
    }
    let scratch = tempfile::tempdir().unwrap();
    let mut count = 0;
    for file in files {
        for ex in examples(&file) {
            count += 1;
            let out = Command::new("sh")
                .arg("-c")
                .arg(&ex.command)
                .current_dir(root())
                .env("PATH", &path)
                .env("BRIM_SCRATCH", scratch.path())
                .output()
                .unwrap();
            let mut got = String::from_utf8_lossy(&out.stdout).into_owned();
            if !got.is_empty() && !got.ends_with('\n') {
                got.push('\n');
            }
            got.push_str(&String::from_utf8_lossy(&out.stderr));
            if let Some(code) = out.status.code().filter(|c| *c != 0) {
                got.push_str(&format!("[exit {code}]\n"));
            }
            assert_eq!(
                got, ex.expected,
                "{}:{}: `{}` printed something else",
                ex.file, ex.line, ex.command
            );
        }
    }
    assert!(count >= 3, "found only {count} console examples");
}
