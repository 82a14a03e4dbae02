//! Reading leads from a file that arrives in pieces: CSV or JSON lines, fed as byte chunks of
//! any size (a chunk may end inside a quoted cell or inside a UTF-8 character), turned into
//! leads in input order, each with the line it started on. One bad row is one [`Row`] with an
//! error; the rows around it are still read.
//!
//! No I/O: the caller reads the file (a `Read`, a browser `File` stream, a socket) and pushes
//! what it read. Only the record being read is kept between chunks, never the whole input.
//!
//! ```
//! use brim_core::LeadStream;
//!
//! let mut stream = LeadStream::csv();
//! let mut rows = Vec::new();
//! stream.push(b"company_name,employee_count,tech_stack\nAcme,120,Zapier; Sales", &mut rows)?;
//! stream.push(b"force\n\"Globex, Inc\",many,\n", &mut rows)?;
//! stream.finish(&mut rows)?;
//! assert_eq!(rows[0].line, 2);
//! assert_eq!(rows[0].lead.as_ref().unwrap().tech_stack, ["Zapier", "Salesforce"]);
//! let err = rows[1].lead.as_ref().unwrap_err();
//! assert_eq!((rows[1].line, err.field.as_str()), (3, "employee_count"));
//! # Ok::<(), brim_core::InputError>(())
//! ```

use std::ops::Range;

use crate::{Lead, LeadError};

/// What a lead file can be read as, a piece at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamFormat {
    /// A header row naming the fields (`company_name`, `tech_stack`, `contact.email`,
    /// `attributes.NAME`, ...), then one lead per row; lists in a cell separated by `;`.
    Csv,
    /// One JSON object per line; blank lines are skipped.
    JsonLines,
}

/// One lead read from the input, or why that row could not be read.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The 1-based line the record starts on (in CSV, the header is line 1).
    pub line: u64,
    /// The lead, validated, or the field that was wrong and what was expected.
    pub lead: Result<Lead, LeadError>,
    /// Where the record is in the input: byte offsets in what was pushed (a byte-order mark
    /// counted), so that a caller who ranked rows by score alone can read one again later with
    /// [`LeadStream::read_again`] instead of keeping every lead.
    pub bytes: Range<u64>,
}

/// The input as a whole cannot be read as leads (no header, no `company_name` column); unlike a
/// bad row, nothing after it can be read either.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct InputError {
    /// The 1-based line where the problem is.
    pub line: u64,
    /// What is wrong and what was expected.
    pub message: String,
}

/// Reads leads from chunks of a CSV or JSON-lines file: [`push`](Self::push) each chunk as it is
/// read, then [`finish`](Self::finish). Rows come out in input order.
#[derive(Debug)]
pub struct LeadStream {
    format: StreamFormat,
    /// The first bytes, held until it is known whether they begin with a byte-order mark.
    head: Vec<u8>,
    started: bool,
    bytes: u64,
    rows_read: u64,
    csv: Option<CsvState>,
    /// JSON lines: the line begun in an earlier chunk, and the number of lines ended so far.
    carry: Vec<u8>,
    line: u64,
    finished: bool,
    /// The offset in the input of the next byte given to `feed`, and of the record begun.
    pos: u64,
    record_start: u64,
}

#[derive(Debug)]
struct CsvState {
    reader: csv_core::Reader,
    /// The record being read: its fields' bytes and where each ends.
    fields: Vec<u8>,
    ends: Vec<usize>,
    out_len: usize,
    ends_len: usize,
    headers: Option<Vec<String>>,
    unknown: Vec<String>,
}

const BOM: &[u8] = "\u{feff}".as_bytes();

impl LeadStream {
    /// A reader of `format`.
    pub fn new(format: StreamFormat) -> LeadStream {
        LeadStream {
            format,
            head: Vec::new(),
            started: false,
            bytes: 0,
            rows_read: 0,
            csv: (format == StreamFormat::Csv).then(|| CsvState {
                reader: csv_core::Reader::new(),
                fields: vec![0; 1024],
                ends: vec![0; 32],
                out_len: 0,
                ends_len: 0,
                headers: None,
                unknown: Vec::new(),
            }),
            carry: Vec::new(),
            line: 0,
            finished: false,
            pos: 0,
            record_start: 0,
        }
    }

    /// A CSV reader (see [`StreamFormat::Csv`]).
    pub fn csv() -> LeadStream {
        LeadStream::new(StreamFormat::Csv)
    }

    /// A JSON-lines reader (see [`StreamFormat::JsonLines`]).
    pub fn json_lines() -> LeadStream {
        LeadStream::new(StreamFormat::JsonLines)
    }

    /// The format being read.
    pub fn format(&self) -> StreamFormat {
        self.format
    }

    /// Bytes pushed so far (for a progress bar).
    pub fn bytes_read(&self) -> u64 {
        self.bytes
    }

    /// Rows (leads and bad rows) given out so far.
    pub fn rows_read(&self) -> u64 {
        self.rows_read
    }

    /// CSV header cells that are not lead fields and are ignored (use `attributes.NAME` for
    /// your own); known once the header has been read.
    pub fn unknown_columns(&self) -> &[String] {
        self.csv.as_ref().map_or(&[], |c| &c.unknown)
    }

    /// Reads `chunk`, appending every row it completes to `rows`. A chunk may end anywhere,
    /// even inside a quoted cell or a UTF-8 character: the rest comes with the next chunk.
    pub fn push(&mut self, chunk: &[u8], rows: &mut Vec<Row>) -> Result<(), InputError> {
        if self.finished {
            return Err(InputError {
                line: self.line.max(1),
                message: "more input after the end was announced".into(),
            });
        }
        self.bytes += chunk.len() as u64;
        let before = rows.len();
        let result = if self.started {
            self.feed(chunk, rows)
        } else {
            // Hold the first bytes until a byte-order mark can be told apart from text.
            self.head.extend_from_slice(chunk);
            if self.head.len() < BOM.len() && BOM.starts_with(&self.head) {
                return Ok(());
            }
            self.start(rows)
        };
        self.rows_read += (rows.len() - before) as u64;
        result
    }

    /// Ends the input: reads the last row if it had no line break after it.
    pub fn finish(&mut self, rows: &mut Vec<Row>) -> Result<(), InputError> {
        if self.finished {
            return Ok(());
        }
        let before = rows.len();
        let mut result = if self.started {
            Ok(())
        } else {
            self.start(rows)
        };
        if result.is_ok() {
            self.finished = true;
            result = match self.format {
                StreamFormat::Csv => self.feed_csv(&[], rows),
                StreamFormat::JsonLines => {
                    let last = std::mem::take(&mut self.carry);
                    self.json_line(&last, self.pos, rows);
                    Ok(())
                }
            };
        }
        self.rows_read += (rows.len() - before) as u64;
        result
    }

    fn start(&mut self, rows: &mut Vec<Row>) -> Result<(), InputError> {
        self.started = true;
        let head = std::mem::take(&mut self.head);
        let body = match head.strip_prefix(BOM) {
            Some(body) => {
                self.pos = BOM.len() as u64;
                self.record_start = self.pos;
                body
            }
            None => &head,
        };
        self.feed(body, rows)
    }

    fn feed(&mut self, chunk: &[u8], rows: &mut Vec<Row>) -> Result<(), InputError> {
        match self.format {
            StreamFormat::Csv => {
                if chunk.is_empty() {
                    // An empty slice would tell csv-core the input has ended.
                    return Ok(());
                }
                self.feed_csv(chunk, rows)
            }
            StreamFormat::JsonLines => {
                let mut rest = chunk;
                while let Some(i) = memchr_newline(rest) {
                    let (line, after) = rest.split_at(i);
                    let end = self.pos + i as u64;
                    if self.carry.is_empty() {
                        self.json_line(line, end, rows);
                    } else {
                        let mut whole = std::mem::take(&mut self.carry);
                        whole.extend_from_slice(line);
                        self.json_line(&whole, end, rows);
                    }
                    self.pos = end + 1;
                    self.record_start = self.pos;
                    rest = &after[1..];
                }
                self.carry.extend_from_slice(rest);
                self.pos += rest.len() as u64;
                Ok(())
            }
        }
    }

    /// One line of JSON lines, ending at offset `end` (its line break not counted).
    fn json_line(&mut self, line: &[u8], end: u64, rows: &mut Vec<Row>) {
        self.line += 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        rows.push(Row {
            line: self.line,
            lead: Lead::from_json_slice(line),
            bytes: self.record_start..end,
        });
    }

    /// Reads one record again from its bytes (a [`Row::bytes`] range of this stream's input):
    /// the same lead, or the same error, as when it was first read. In CSV the columns are
    /// those of the header this stream has read; before it has read one, every CSV record is
    /// an error.
    pub fn read_again(&self, record: &[u8]) -> Result<Lead, LeadError> {
        // A fresh stream of the same format, past this one's header: the same reading code.
        let mut again = LeadStream::new(self.format);
        let what = match (&mut again.csv, &self.csv) {
            (Some(fresh), Some(read)) => {
                if read.headers.is_none() {
                    return Err(LeadError::new(
                        "(csv)",
                        "the header has not been read yet: push the file's start first",
                    ));
                }
                fresh.headers.clone_from(&read.headers);
                "(csv)"
            }
            _ => "(json)",
        };
        let mut rows = Vec::with_capacity(1);
        let read = again
            .push(record, &mut rows)
            .and_then(|()| again.finish(&mut rows));
        match (read, rows.pop()) {
            (Ok(()), Some(row)) if rows.is_empty() => row.lead,
            _ => Err(LeadError::new(
                what,
                "expected the bytes of one record, as given in a row's `bytes`",
            )),
        }
    }

    /// Feeds CSV bytes to csv-core; an empty `input` means the end.
    fn feed_csv(&mut self, mut input: &[u8], rows: &mut Vec<Row>) -> Result<(), InputError> {
        let Some(csv) = self.csv.as_mut() else {
            return Ok(());
        };
        loop {
            let (result, n_in, n_out, n_ends) = csv.reader.read_record(
                input,
                &mut csv.fields[csv.out_len..],
                &mut csv.ends[csv.ends_len..],
            );
            let ended_on_newline = n_in > 0 && input[n_in - 1] == b'\n';
            input = &input[n_in..];
            self.pos += n_in as u64;
            csv.out_len += n_out;
            csv.ends_len += n_ends;
            match result {
                csv_core::ReadRecordResult::InputEmpty => return Ok(()),
                csv_core::ReadRecordResult::OutputFull => {
                    let len = csv.fields.len();
                    csv.fields.resize(len * 2, 0);
                }
                csv_core::ReadRecordResult::OutputEndsFull => {
                    let len = csv.ends.len();
                    csv.ends.resize(len * 2, 0);
                }
                csv_core::ReadRecordResult::Record => {
                    let (out_len, ends_len) = (csv.out_len, csv.ends_len);
                    // The line it started on: the line it ended on, less the line breaks
                    // inside its quoted cells (csv-core skips blank lines between records).
                    let end_line = csv.reader.line() - u64::from(ended_on_newline);
                    let inside = csv.fields[..out_len]
                        .iter()
                        .filter(|&&b| b == b'\n')
                        .count();
                    let line = end_line.saturating_sub(inside as u64).max(1);
                    csv.out_len = 0;
                    csv.ends_len = 0;
                    let bytes = self.record_start..self.pos;
                    self.record_start = self.pos;
                    csv.record(line, bytes, out_len, ends_len, rows)?;
                }
                csv_core::ReadRecordResult::End => {
                    if csv.headers.is_none() {
                        return Err(InputError {
                            line: 1,
                            message: "the CSV is empty: expected a header row naming the fields, \
                                      with a company_name column"
                                .into(),
                        });
                    }
                    return Ok(());
                }
            }
        }
    }
}

impl CsvState {
    /// One complete record: the header, or a lead.
    fn record(
        &mut self,
        line: u64,
        bytes: Range<u64>,
        out_len: usize,
        ends_len: usize,
        rows: &mut Vec<Row>,
    ) -> Result<(), InputError> {
        let data = &self.fields[..out_len];
        let ends = &self.ends[..ends_len];
        let cells = || {
            let mut start = 0;
            ends.iter().map(move |&end| {
                let cell = &data[start..end];
                start = end;
                cell
            })
        };
        let Some(headers) = &self.headers else {
            let mut names = Vec::with_capacity(ends.len());
            for (i, cell) in cells().enumerate() {
                match std::str::from_utf8(cell) {
                    Ok(name) => names.push(name.trim().to_string()),
                    Err(_) => {
                        return Err(InputError {
                            line,
                            message: format!(
                                "header column {}: expected UTF-8 text; save the file as UTF-8",
                                i + 1
                            ),
                        });
                    }
                }
            }
            if !names.iter().any(|h| h == "company_name") {
                return Err(InputError {
                    line,
                    message: format!(
                        "the CSV header has no company_name column (found: {})",
                        names.join(", ")
                    ),
                });
            }
            let probe = Lead::new("x");
            self.unknown = names
                .iter()
                .filter(|h| matches!(probe.clone().set_text_field(h, ""), Ok(false)))
                .cloned()
                .collect();
            self.headers = Some(names);
            return Ok(());
        };
        let lead = (|| {
            let mut lead = Lead::default();
            for (name, cell) in headers.iter().zip(cells()) {
                let text = std::str::from_utf8(cell).map_err(|_| {
                    LeadError::new(name.clone(), "expected UTF-8 text; save the file as UTF-8")
                })?;
                lead.set_text_field(name, text)?;
            }
            if lead.company_name.trim().is_empty() {
                return Err(LeadError::new("company_name", "required field is missing"));
            }
            lead.validate()?;
            Ok(lead)
        })();
        rows.push(Row { line, lead, bytes });
        Ok(())
    }
}

fn memchr_newline(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_in_pieces(format: StreamFormat, input: &[u8], sizes: &[usize]) -> Vec<Row> {
        let mut stream = LeadStream::new(format);
        let mut rows = Vec::new();
        let mut rest = input;
        let mut i = 0;
        while !rest.is_empty() {
            let n = sizes[i % sizes.len()].min(rest.len());
            stream.push(&rest[..n], &mut rows).unwrap();
            rest = &rest[n..];
            i += 1;
        }
        stream.finish(&mut rows).unwrap();
        assert_eq!(stream.rows_read(), rows.len() as u64);
        // Each row reads again, from its own bytes, as the same lead or the same error.
        for row in &rows {
            let bytes = &input[row.bytes.start as usize..row.bytes.end as usize];
            assert_eq!(
                stream.read_again(bytes),
                row.lead,
                "line {}: {bytes:?}",
                row.line
            );
        }
        rows
    }

    const CSV: &str = "\u{feff}company_name , employee_count,tech_stack,contact.email,notes\n\
        \"Café \"\"Zürich\"\", AG\",120,Zapier; Salesforce,ops@cafe.example,x\n\
        Globex,lots,,,\r\n\
        \"Multi\nline Co\",40,,,\n\
        \n\
        ,5,,,\n\
        Last Co,7,,bad-email,";

    #[test]
    fn csv_reads_the_same_at_every_chunk_size() {
        let whole = read_in_pieces(StreamFormat::Csv, CSV.as_bytes(), &[CSV.len()]);
        assert_eq!(whole.len(), 5);
        let first = whole[0].lead.as_ref().unwrap();
        assert_eq!(first.company_name, "Café \"Zürich\", AG");
        assert_eq!(first.tech_stack, ["Zapier", "Salesforce"]);
        assert_eq!(
            whole.iter().map(|r| r.line).collect::<Vec<_>>(),
            [2, 3, 4, 7, 8]
        );
        assert_eq!(
            whole[1].lead.as_ref().unwrap_err().field,
            "employee_count".to_string()
        );
        assert_eq!(
            whole[2].lead.as_ref().unwrap().company_name,
            "Multi\nline Co"
        );
        assert_eq!(whole[3].lead.as_ref().unwrap_err().field, "company_name");
        assert_eq!(whole[4].lead.as_ref().unwrap_err().field, "contact.email");
        // Every split point, including inside the BOM, a quoted cell and "é"/"ü".
        for size in 1..16 {
            assert_eq!(
                read_in_pieces(StreamFormat::Csv, CSV.as_bytes(), &[size, size + 3]),
                whole,
                "chunks of {size}"
            );
        }
    }

    #[test]
    fn csv_names_unknown_columns_and_rejects_a_header_without_company_name() {
        let mut stream = LeadStream::csv();
        let mut rows = Vec::new();
        stream.push(CSV.as_bytes(), &mut rows).unwrap();
        assert_eq!(stream.unknown_columns(), ["notes"]);

        let mut stream = LeadStream::csv();
        let err = stream.push(b"name,size\nAcme,3\n", &mut rows).unwrap_err();
        assert_eq!(err.line, 1);
        assert!(
            err.message
                .contains("no company_name column (found: name, size)")
        );

        let err = LeadStream::csv().finish(&mut rows).unwrap_err();
        assert!(err.message.contains("the CSV is empty"), "{err}");
    }

    #[test]
    fn a_row_with_bad_bytes_is_one_bad_row() {
        let input = b"company_name,industry\nAcme,Saa\xffS\nGlobex,SaaS\n";
        let rows = read_in_pieces(StreamFormat::Csv, input, &[input.len()]);
        assert_eq!(rows.len(), 2);
        let err = rows[0].lead.as_ref().unwrap_err();
        assert_eq!(err.field, "industry");
        assert!(err.message.contains("UTF-8"));
        assert!(rows[1].lead.is_ok());
    }

    #[test]
    fn json_lines_read_the_same_at_every_chunk_size() {
        let input = "{\"company_name\": \"Zoë\", \"employee_count\": 40}\r\n\n  \n\
            {\"company_name\": \"Bad\", \"employee_count\": \"abc\"}\n\
            not json\n{\"company_name\": \"Last\"}";
        let whole = read_in_pieces(StreamFormat::JsonLines, input.as_bytes(), &[input.len()]);
        assert_eq!(
            whole.iter().map(|r| r.line).collect::<Vec<_>>(),
            [1, 4, 5, 6]
        );
        assert_eq!(whole[0].lead.as_ref().unwrap().company_name, "Zoë");
        assert_eq!(whole[1].lead.as_ref().unwrap_err().field, "employee_count");
        assert_eq!(whole[2].lead.as_ref().unwrap_err().field, "(json)");
        assert!(whole[3].lead.is_ok());
        for size in 1..12 {
            assert_eq!(
                read_in_pieces(StreamFormat::JsonLines, input.as_bytes(), &[size]),
                whole
            );
        }
    }

    #[test]
    fn rows_know_their_bytes() {
        let rows = read_in_pieces(StreamFormat::Csv, CSV.as_bytes(), &[7]);
        let text = |r: &Row| &CSV[r.bytes.start as usize..r.bytes.end as usize];
        assert!(text(&rows[0]).starts_with("\"Café"), "{:?}", text(&rows[0]));
        assert!(text(&rows[2]).contains("\"Multi\nline Co\",40"));
        assert_eq!(text(&rows[4]), "Last Co,7,,bad-email,");
        let input = "\u{feff}{\"company_name\": \"A\"}\n\n{\"company_name\": \"B\"}";
        let rows = read_in_pieces(StreamFormat::JsonLines, input.as_bytes(), &[2]);
        assert_eq!(rows[0].bytes, 3..24);
        assert_eq!(
            &input[rows[1].bytes.start as usize..],
            "{\"company_name\": \"B\"}"
        );

        // Before the header, a CSV record cannot be read again; nor can bytes that hold none.
        let stream = LeadStream::csv();
        assert_eq!(stream.read_again(b"Acme,3\n").unwrap_err().field, "(csv)");
        let mut stream = LeadStream::csv();
        stream.push(b"company_name\n", &mut Vec::new()).unwrap();
        assert_eq!(stream.read_again(b"").unwrap_err().field, "(csv)");
        assert_eq!(stream.read_again(b"Acme").unwrap().company_name, "Acme");
    }

    #[test]
    fn nothing_is_read_after_finish() {
        let mut stream = LeadStream::json_lines();
        let mut rows = Vec::new();
        stream.finish(&mut rows).unwrap();
        assert!(stream.push(b"{}", &mut rows).is_err());
    }
}
