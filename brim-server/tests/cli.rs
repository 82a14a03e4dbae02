//! `brim score` and `brim models` as a user runs them: real files, stdin, exit codes.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn brim(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_brim"))
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let input = stdin.unwrap_or("").to_string();
    let mut pipe = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(input.as_bytes());
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn json_lines(o: &Output) -> Vec<serde_json::Value> {
    stdout(o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn scores_the_sample_file_in_input_order() {
    let out = brim(&["score", "examples/leads.jsonl"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = json_lines(&out);
    assert_eq!(rows.len(), 10);
    assert_eq!(rows[0]["company_name"], "Northwind Analytics");
    assert_eq!(rows[9]["company_name"], "Municipal Records Office");
    for r in &rows {
        for key in [
            "company_id",
            "fit_score",
            "intent_score",
            "total_score",
            "confidence",
            "action",
            "reasoning",
            "contributions",
        ] {
            assert!(r.get(key).is_some(), "{key} missing in {r}");
        }
    }
}

#[test]
fn json_array_csv_and_jsonl_give_the_same_scores() {
    let dir = tempfile::tempdir().unwrap();
    let jsonl = "{\"company_name\": \"A\", \"employee_count\": 150, \"industry\": \"SaaS\", \"tech_stack\": [\"Zapier\", \"AWS\"]}\n{\"company_name\": \"B\", \"employee_count\": 20}\n";
    let array = "\u{feff}[\n  {\"company_name\": \"A\", \"employee_count\": 150, \"industry\": \"SaaS\", \"tech_stack\": [\"Zapier\", \"AWS\"]},\n  {\"company_name\": \"B\", \"employee_count\": 20}\n]\n";
    let csv =
        "company_name,employee_count,industry,tech_stack\r\nA,150,SaaS,Zapier; AWS\r\nB,20,,\r\n";
    let mut totals = Vec::new();
    for (name, text) in [("a.jsonl", jsonl), ("a.json", array), ("a.csv", csv)] {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        let out = brim(&["score", p.to_str().unwrap()], None);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        let t: Vec<_> = json_lines(&out)
            .iter()
            .map(|r| (r["company_id"].clone(), r["total_score"].clone()))
            .collect();
        totals.push(t);
        // The same through stdin, detected from the content.
        let out = brim(&["score", "-"], Some(text));
        assert!(out.status.success(), "{name} on stdin: {}", stderr(&out));
        assert_eq!(json_lines(&out).len(), 2);
    }
    assert_eq!(totals[0], totals[1]);
    assert_eq!(totals[0], totals[2]);
}

#[test]
fn bad_lines_are_reported_and_the_rest_scored() {
    let input = "{\"company_name\": \"A\"}\n\nnot json\n{\"company_name\": \"B\", \"tech_stack\": \"Zapier\"}\n{\"industry\": \"SaaS\"}\n{\"company_name\": \"C\"}\n";
    let out = brim(&["score"], Some(input));
    assert_eq!(out.status.code(), Some(2));
    let names: Vec<_> = json_lines(&out)
        .iter()
        .map(|r| r["company_name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["A", "C"]);
    let err = stderr(&out);
    assert!(
        err.contains("line 3: (json): not valid JSON: expected ident at line 1 column 2"),
        "{err}"
    );
    assert!(
        err.contains("line 4: tech_stack: expected a list of strings, got \"Zapier\""),
        "{err}"
    );
    assert!(
        err.contains("line 5: company_name: required field is missing"),
        "{err}"
    );

    let strict = brim(&["score", "--strict"], Some(input));
    assert_eq!(strict.status.code(), Some(2));
    assert_eq!(json_lines(&strict).len(), 1);
}

#[test]
fn a_line_with_bad_bytes_fails_alone() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("mixed.jsonl");
    let mut bytes = b"{\"company_name\": \"A\"}\n{\"company_name\": \"B\xff\"}\n".to_vec();
    bytes.extend_from_slice("{\"company_name\": \"Ç\"}\n".as_bytes());
    std::fs::write(&p, bytes).unwrap();
    let out = brim(&["score", p.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    let names: Vec<_> = json_lines(&out)
        .iter()
        .map(|r| r["company_name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["A", "Ç"]);
    assert!(stderr(&out).starts_with("line 2: "), "{}", stderr(&out));
}

#[test]
fn bad_csv_rows_and_array_items_are_reported_by_position() {
    let csv = "company_name,employee_count\nA,10\nB,many\n,5\nC,7\n";
    let out = brim(&["score", "--input-format", "csv"], Some(csv));
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json_lines(&out).len(), 2);
    let err = stderr(&out);
    assert!(
        err.contains("line 3: employee_count: expected a whole number >= 0, got \"many\""),
        "{err}"
    );
    assert!(
        err.contains("line 4: company_name: required field is missing"),
        "{err}"
    );

    let array = r#"[{"company_name": "A"}, {"company_name": 5}, {"company_name": "C"}]"#;
    let out = brim(&["score", "-", "--format", "json"], Some(array));
    assert_eq!(out.status.code(), Some(2));
    let parsed: Vec<serde_json::Value> = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(parsed.len(), 2);
    assert!(
        stderr(&out).contains("item 2: company_name: expected a string, got 5"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn every_output_format_and_the_output_flag() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("out.json");
    let out = brim(
        &[
            "score",
            "examples/leads.jsonl",
            "--format",
            "json",
            "-o",
            target.to_str().unwrap(),
        ],
        None,
    );
    assert!(out.status.success());
    let parsed: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&target).unwrap()).unwrap();
    assert_eq!(parsed.len(), 10);

    let out = brim(&["score", "examples/leads.jsonl", "--format", "csv"], None);
    let text = stdout(&out);
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(rdr.records().count(), 10);

    let out = brim(
        &[
            "score",
            "examples/leads.jsonl",
            "--format",
            "table",
            "--top",
            "2",
        ],
        None,
    );
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 4, "{text}");
    assert!(text.lines().nth(1).unwrap().contains("Northwind Analytics"));
}

#[test]
fn models_by_name_or_file_and_bad_models_list_every_problem() {
    let out = brim(&["models", "list"], None);
    let text = stdout(&out);
    for name in ["balanced", "aggressive", "conservative", "intent"] {
        assert!(text.contains(name), "{text}");
    }
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("mine.toml");
    let shown = brim(&["models", "show", "conservative"], None);
    std::fs::write(&model, stdout(&shown)).unwrap();
    let by_file = brim(
        &[
            "score",
            "examples/leads.jsonl",
            "--model",
            model.to_str().unwrap(),
        ],
        None,
    );
    let by_name = brim(
        &["score", "examples/leads.jsonl", "--model", "conservative"],
        None,
    );
    assert!(by_file.status.success(), "{}", stderr(&by_file));
    assert_eq!(stdout(&by_file), stdout(&by_name));
    let balanced = brim(&["score", "examples/leads.jsonl"], None);
    assert_ne!(stdout(&balanced), stdout(&by_name));

    std::fs::write(&model, "name = \"x\"\ncolour = 1\n[blend]\nfit = 0.5\nintent = 0.6\n[thresholds]\nhigh = 80\nmedium = 60\n").unwrap();
    let out = brim(
        &[
            "score",
            "examples/leads.jsonl",
            "--model",
            model.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("unknown field `colour`")
            && err.contains("must add up to 1")
            && err.contains("no rules"),
        "{err}"
    );
    let out = brim(&["score", "--model", "nope"], Some(""));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("unknown model preset \"nope\""));
}

#[test]
fn help_shows_an_example_and_missing_files_are_named() {
    let out = brim(&["score", "--help"], None);
    assert!(stdout(&out).contains("brim score examples/leads.jsonl --format table"));
    let out = brim(&["score", "no/such/file.jsonl"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("cannot read no/such/file.jsonl"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_large_input_streams_in_order() {
    let n = 50_000;
    let input: String = (0..n)
        .map(|i| {
            format!(
                "{{\"company_name\": \"Co {i}\", \"employee_count\": {}}}\n",
                i % 700
            )
        })
        .collect();
    let out = brim(&["score", "-j", "2"], Some(&input));
    assert!(out.status.success());
    let text = stdout(&out);
    let mut count = 0;
    for (i, line) in text.lines().enumerate() {
        assert!(
            line.contains(&format!("\"company_name\":\"Co {i}\"")),
            "line {i}: {line}"
        );
        count += 1;
    }
    assert_eq!(count, n);
}

/// On a terminal, `brim score` draws a progress bar and ends with a summary on stderr; `script`
/// (util-linux, in every Debian base system) gives it a pseudo-terminal.
#[test]
fn a_terminal_gets_a_progress_bar_and_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("big.jsonl");
    let text: String = (0..30_000)
        .map(|i| {
            format!(
                "{{\"company_name\": \"Co {i}\", \"employee_count\": {}}}\n",
                i % 600
            )
        })
        .collect();
    std::fs::write(&input, text).unwrap();
    let command = format!(
        "{} score {} -o {}",
        env!("CARGO_BIN_EXE_brim"),
        input.display(),
        dir.path().join("out.jsonl").display()
    );
    let out = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .output()
        .expect("util-linux `script` runs");
    assert!(out.status.success());
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(
        screen.contains("MiB") || screen.contains("KiB"),
        "no progress bar in {screen:?}"
    );
    assert!(
        screen.contains("brim: scored 30000 leads with balanced (0 failed)"),
        "{screen:?}"
    );
    // Without a terminal there is neither.
    let quiet = brim(
        &[
            "score",
            input.to_str().unwrap(),
            "-o",
            dir.path().join("o2.jsonl").to_str().unwrap(),
        ],
        None,
    );
    assert!(stderr(&quiet).is_empty(), "{}", stderr(&quiet));
}
