//! Writing scores: JSON lines, a JSON array, CSV, or a ranked table for people.

use std::io::Write;

use brim_core::ScoreReport;

/// The output formats of `brim score`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// One JSON object per lead, in input order (the default).
    Jsonl,
    /// One JSON array, in input order.
    Json,
    /// A header row, then one row per lead, in input order; reasons joined by "; ".
    Csv,
    /// A table for people, best leads first (holds the results in memory to rank them).
    Table,
}

/// The CSV columns.
const CSV_HEADER: &str = "company_id,company_name,fit_score,intent_score,total_score,confidence,action,positive,negative,missing\n";

/// Appends one report to `out` in `format` (`Table` rows are kept by the caller instead).
pub fn append(format: OutputFormat, report: &ScoreReport, out: &mut Vec<u8>) {
    match format {
        OutputFormat::Jsonl => {
            // Writing a plain struct into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut *out, report);
            out.push(b'\n');
        }
        OutputFormat::Json => {
            out.extend_from_slice(b",\n");
            let _ = serde_json::to_writer(&mut *out, report);
        }
        OutputFormat::Csv => {
            let mut w = csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(&mut *out);
            let r = &report.reasoning;
            let _ = w.write_record([
                report.company_id.as_str(),
                report.company_name.as_str(),
                itoa::Buffer::new().format(report.fit_score),
                itoa::Buffer::new().format(report.intent_score),
                itoa::Buffer::new().format(report.total_score),
                &format!("{:.2}", report.confidence),
                report.action.as_str(),
                &r.positive.join("; "),
                &r.negative.join("; "),
                &r.missing.join("; "),
            ]);
            let _ = w.flush();
        }
        OutputFormat::Table => {}
    }
}

/// What a format writes before the first record.
pub fn prologue(format: OutputFormat) -> &'static [u8] {
    match format {
        OutputFormat::Json => b"[",
        OutputFormat::Csv => CSV_HEADER.as_bytes(),
        _ => b"",
    }
}

/// What a format writes after the last record.
pub fn epilogue(format: OutputFormat) -> &'static [u8] {
    match format {
        OutputFormat::Json => b"\n]\n",
        _ => b"",
    }
}

/// One row of the ranked table.
pub struct TableRow {
    pub company_name: String,
    pub total: u8,
    pub fit: u8,
    pub intent: u8,
    pub confidence: f64,
    pub action: &'static str,
    pub why: String,
}

impl TableRow {
    pub fn from_report(r: &ScoreReport) -> TableRow {
        let why = r
            .reasoning
            .positive
            .first()
            .or(r.reasoning.negative.first())
            .cloned()
            .unwrap_or_else(|| {
                if r.reasoning.missing.is_empty() {
                    String::new()
                } else {
                    format!("missing: {}", r.reasoning.missing.join(", "))
                }
            });
        TableRow {
            company_name: r.company_name.clone(),
            total: r.total_score,
            fit: r.fit_score,
            intent: r.intent_score,
            confidence: r.confidence,
            action: r.action.as_str(),
            why,
        }
    }
}

/// Writes the rows best first (stable: equal totals keep input order), `top` rows at most.
pub fn write_table(
    rows: &mut [TableRow],
    top: Option<usize>,
    out: &mut impl Write,
) -> std::io::Result<()> {
    rows.sort_by_key(|r| std::cmp::Reverse(r.total));
    let shown = &rows[..top.unwrap_or(rows.len()).min(rows.len())];
    let name_w = shown
        .iter()
        .map(|r| r.company_name.chars().count())
        .max()
        .unwrap_or(7)
        .clamp(7, 32);
    writeln!(
        out,
        "{:>4}  {:<name_w$}  {:>5}  {:>3}  {:>6}  {:>4}  {:<24}  why",
        "rank", "company", "total", "fit", "intent", "conf", "action"
    )?;
    for (i, r) in shown.iter().enumerate() {
        let name: String = if r.company_name.chars().count() > name_w {
            let mut s: String = r.company_name.chars().take(name_w - 1).collect();
            s.push('…');
            s
        } else {
            r.company_name.clone()
        };
        writeln!(
            out,
            "{:>4}  {:<name_w$}  {:>5}  {:>3}  {:>6}  {:>4.2}  {:<24}  {}",
            i + 1,
            name,
            r.total,
            r.fit,
            r.intent,
            r.confidence,
            r.action,
            r.why
        )?;
    }
    if shown.len() < rows.len() {
        writeln!(out, "({} more not shown)", rows.len() - shown.len())?;
    }
    Ok(())
}

/// The progress bar of `brim score` and `brim enrich`: bytes of a file of `size`, a spinner
/// for a stream of unknown size, nothing when `show` is false (not a terminal, `--quiet`).
pub fn progress_bar(show: bool, size: Option<u64>) -> indicatif::ProgressBar {
    match (show, size) {
        (true, Some(len)) => {
            let bar = indicatif::ProgressBar::new(len);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({eta}) {msg}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar
        }
        (true, None) => indicatif::ProgressBar::new_spinner(),
        _ => indicatif::ProgressBar::hidden(),
    }
}
