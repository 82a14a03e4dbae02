//! Reading leads in batches from JSON lines, a JSON array (or concatenated objects) or CSV,
//! without holding the whole input in memory.

use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, sync_channel};

use brim_core::{Lead, LeadError, LeadStream};
use serde::de::{Deserializer as _, SeqAccess, Visitor};

/// Input that cannot be read as the format it claims (says where and why).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

/// Records per batch: large enough to amortise the hand-off between threads, small enough to
/// keep memory flat.
const BATCH_RECORDS: usize = 16 * 1024;
/// Bytes read per block of JSON lines.
const BLOCK_BYTES: usize = 4 << 20;

/// The input formats `brim score` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InputFormat {
    /// One JSON object per line.
    Jsonl,
    /// A JSON array of objects, or objects one after another.
    Json,
    /// A header row, then one lead per row; lists separated by `;`.
    Csv,
}

impl InputFormat {
    /// `jsonl`, `json` or `csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            InputFormat::Jsonl => "jsonl",
            InputFormat::Json => "json",
            InputFormat::Csv => "csv",
        }
    }
}

/// Where a record was in the input, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locator {
    /// A line of JSON lines or CSV (1-based).
    Line(u64),
    /// An element of a JSON array or stream (1-based).
    Item(u64),
}

impl fmt::Display for Locator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Locator::Line(n) => write!(f, "line {n}"),
            Locator::Item(n) => write!(f, "item {n}"),
        }
    }
}

/// One record: JSON text still to parse (a range of the batch buffer), or a lead already
/// built (CSV).
pub enum Body {
    Json(Range<usize>),
    Lead(Box<Result<Lead, LeadError>>),
}

pub struct Record {
    pub locator: Locator,
    pub body: Body,
}

/// A batch of records and the bytes their JSON ranges point into.
#[derive(Default)]
pub struct Batch {
    pub data: BatchData,
    pub records: Vec<Record>,
}

/// The bytes of a batch: checked as UTF-8 once per block when possible, so that parsing a line
/// does not check every string again.
pub enum BatchData {
    Text(String),
    Bytes(Vec<u8>),
}

impl Default for BatchData {
    fn default() -> Self {
        BatchData::Text(String::new())
    }
}

impl BatchData {
    fn from_bytes(buf: Vec<u8>) -> BatchData {
        match String::from_utf8(buf) {
            Ok(text) => BatchData::Text(text),
            // Some line has bad bytes: parse line by line, and that line reports it.
            Err(e) => BatchData::Bytes(e.into_bytes()),
        }
    }

    /// The buffer, for reuse.
    pub fn into_bytes(self) -> Vec<u8> {
        match self {
            BatchData::Text(t) => t.into_bytes(),
            BatchData::Bytes(b) => b,
        }
    }
}

impl Record {
    /// Parses (or takes) the lead.
    pub fn lead<'a>(
        &'a self,
        data: &BatchData,
        owned: &'a mut Option<Lead>,
    ) -> Result<&'a Lead, LeadError> {
        match &self.body {
            Body::Json(range) => {
                let lead = match data {
                    BatchData::Text(text) => Lead::from_json(&text[range.clone()])?,
                    BatchData::Bytes(bytes) => Lead::from_json_slice(&bytes[range.clone()])?,
                };
                Ok(owned.insert(lead))
            }
            Body::Lead(result) => match result.as_ref() {
                Ok(lead) => Ok(lead),
                Err(e) => Err(e.clone()),
            },
        }
    }
}

/// A source of batches; `open` takes a counter of the input bytes consumed (for the
/// progress bar).
pub struct Source {
    inner: SourceKind,
}

enum SourceKind {
    Lines {
        reader: Box<dyn Read + Send>,
        carry: Vec<u8>,
        /// A block buffer handed back by the consumer, reused for the next block.
        spare: Vec<u8>,
        line: u64,
        done: bool,
    },
    Channel(Receiver<Result<Batch, InputError>>),
}

/// Counts bytes as they are read.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Decides the format: the flag, else the file extension, else the first non-blank byte
/// (`[` or `{` → JSON, anything else → CSV).
pub fn detect(
    flag: Option<InputFormat>,
    path: Option<&Path>,
    reader: &mut BufReader<Box<dyn Read + Send>>,
) -> Result<InputFormat, InputError> {
    if let Some(f) = flag {
        return Ok(f);
    }
    let ext = path
        .and_then(|p| p.extension())
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("jsonl" | "ndjson") => return Ok(InputFormat::Jsonl),
        Some("csv" | "tsv") => return Ok(InputFormat::Csv),
        _ => {}
    }
    let head = reader
        .fill_buf()
        .map_err(|e| InputError(format!("cannot read input: {e}")))?;
    let head = head.strip_prefix("\u{feff}".as_bytes()).unwrap_or(head);
    let first = head.iter().find(|b| !b.is_ascii_whitespace()).copied();
    Ok(match first {
        Some(b'[') => InputFormat::Json,
        Some(b'{') => {
            // One object per line is JSON lines; a pretty-printed object spans lines.
            let first_line = head.split(|b| *b == b'\n').next().unwrap_or(&[]);
            if ext.as_deref() == Some("json")
                && serde_json::from_slice::<serde::de::IgnoredAny>(first_line).is_err()
            {
                InputFormat::Json
            } else {
                InputFormat::Jsonl
            }
        }
        _ if ext.as_deref() == Some("json") => InputFormat::Json,
        _ => InputFormat::Csv,
    })
}

impl Source {
    pub fn open(
        format: InputFormat,
        reader: BufReader<Box<dyn Read + Send>>,
        bytes_read: Arc<AtomicU64>,
    ) -> Source {
        let counted: Box<dyn Read + Send> = Box::new(Counting {
            inner: reader,
            count: bytes_read,
        });
        let inner = match format {
            InputFormat::Jsonl => SourceKind::Lines {
                reader: counted,
                carry: Vec::new(),
                spare: Vec::new(),
                line: 0,
                done: false,
            },
            InputFormat::Json => SourceKind::Channel(spawn_json(counted)),
            InputFormat::Csv => SourceKind::Channel(spawn_csv(counted)),
        };
        Source { inner }
    }

    /// Hands a batch's buffer back for reuse.
    pub fn recycle(&mut self, buf: Vec<u8>) {
        if let SourceKind::Lines { spare, .. } = &mut self.inner {
            *spare = buf;
        }
    }

    /// The next batch, `None` at the end of the input.
    pub fn next_batch(&mut self) -> Result<Option<Batch>, InputError> {
        match &mut self.inner {
            SourceKind::Channel(rx) => rx.recv().ok().transpose(),
            SourceKind::Lines {
                reader,
                carry,
                spare,
                line,
                done,
            } => {
                if *done {
                    return Ok(None);
                }
                let mut buf = std::mem::take(spare);
                buf.clear();
                buf.extend_from_slice(carry);
                carry.clear();
                let start = buf.len();
                buf.resize(start + BLOCK_BYTES, 0);
                let mut filled = start;
                // Fill the block (a pipe may return short reads).
                while filled < buf.len() {
                    let n = reader
                        .read(&mut buf[filled..])
                        .map_err(|e| InputError(format!("cannot read input: {e}")))?;
                    if n == 0 {
                        *done = true;
                        break;
                    }
                    filled += n;
                }
                buf.truncate(filled);
                let cut = if *done {
                    buf.len()
                } else {
                    match memchr::memrchr(b'\n', &buf) {
                        Some(i) => i + 1,
                        // A line longer than a block: keep reading until it ends.
                        None => {
                            *carry = buf;
                            return self.next_batch();
                        }
                    }
                };
                carry.extend_from_slice(&buf[cut..]);
                buf.truncate(cut);
                let mut records = Vec::new();
                let mut pos = 0;
                while pos < buf.len() {
                    let end = memchr::memchr(b'\n', &buf[pos..]).map_or(buf.len(), |i| pos + i);
                    *line += 1;
                    let mut range = pos..end;
                    if buf[range.clone()].ends_with(b"\r") {
                        range.end -= 1;
                    }
                    if buf[range.clone()].iter().any(|b| !b.is_ascii_whitespace()) {
                        records.push(Record {
                            locator: Locator::Line(*line),
                            body: Body::Json(range),
                        });
                    }
                    pos = end + 1;
                }
                if records.is_empty() && !*done {
                    return self.next_batch();
                }
                Ok(Some(Batch {
                    data: BatchData::from_bytes(buf),
                    records,
                }))
            }
        }
    }
}

/// Streams the elements of a top-level JSON array (or a sequence of top-level objects) on a
/// thread, as raw JSON text, so that one bad element is one error, not the end of the input.
fn spawn_json(reader: Box<dyn Read + Send>) -> Receiver<Result<Batch, InputError>> {
    let (tx, rx) = sync_channel(2);
    std::thread::spawn(move || {
        let mut reader = BufReader::with_capacity(1 << 20, reader);
        // Skip a byte-order mark and find out whether this is an array.
        let is_array = match reader.fill_buf() {
            Ok(head) => {
                let skip = if head.starts_with("\u{feff}".as_bytes()) {
                    3
                } else {
                    0
                };
                let first = head[skip..]
                    .iter()
                    .find(|b| !b.is_ascii_whitespace())
                    .copied();
                reader.consume(skip);
                first == Some(b'[')
            }
            Err(e) => {
                let _ = tx.send(Err(InputError(format!("cannot read input: {e}"))));
                return;
            }
        };
        let mut emitter = Emitter {
            tx: tx.clone(),
            text: String::new(),
            records: Vec::new(),
            item: 0,
        };
        let result = if is_array {
            let mut de = serde_json::Deserializer::from_reader(reader);
            de.deserialize_seq(ArrayVisitor(&mut emitter))
                .and_then(|()| de.end())
                .map_err(|e| e.to_string())
        } else {
            let stream = serde_json::Deserializer::from_reader(reader)
                .into_iter::<Box<serde_json::value::RawValue>>();
            let mut outcome = Ok(());
            for value in stream {
                match value {
                    Ok(raw) => {
                        if !emitter.push(raw.get()) {
                            return;
                        }
                    }
                    Err(e) => {
                        outcome = Err(e.to_string());
                        break;
                    }
                }
            }
            outcome
        };
        emitter.flush();
        if let Err(e) = result {
            let _ = tx.send(Err(InputError(format!(
                "the JSON input is malformed after item {}: {e}",
                emitter.item
            ))));
        }
    });
    rx
}

struct Emitter {
    tx: std::sync::mpsc::SyncSender<Result<Batch, InputError>>,
    text: String,
    records: Vec<Record>,
    item: u64,
}

impl Emitter {
    /// Adds one element; `false` when the consumer has gone.
    fn push(&mut self, raw: &str) -> bool {
        self.item += 1;
        let start = self.text.len();
        self.text.push_str(raw);
        self.records.push(Record {
            locator: Locator::Item(self.item),
            body: Body::Json(start..self.text.len()),
        });
        if self.records.len() >= BATCH_RECORDS {
            return self.send();
        }
        true
    }

    /// Sends what has been gathered; `false` when the consumer has gone.
    fn send(&mut self) -> bool {
        let batch = Batch {
            data: BatchData::Text(std::mem::take(&mut self.text)),
            records: std::mem::take(&mut self.records),
        };
        self.tx.send(Ok(batch)).is_ok()
    }

    fn flush(&mut self) {
        if !self.records.is_empty() {
            self.send();
        }
    }
}

struct ArrayVisitor<'a>(&'a mut Emitter);

impl<'de> Visitor<'de> for ArrayVisitor<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON array of lead objects")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(raw) = seq.next_element::<Box<serde_json::value::RawValue>>()? {
            if !self.0.push(raw.get()) {
                break;
            }
        }
        Ok(())
    }
}

/// Reads CSV on a thread with the core's [`LeadStream`] (the same reader as the npm package
/// brim-wasm, so both read a file alike): the header names the fields (`company_name`,
/// `tech_stack`, `contact.email`, `attributes.NAME`, ...), lists are separated by `;`.
fn spawn_csv(mut reader: Box<dyn Read + Send>) -> Receiver<Result<Batch, InputError>> {
    let (tx, rx) = sync_channel(2);
    std::thread::spawn(move || {
        let mut stream = LeadStream::csv();
        let mut block = vec![0; 256 << 10];
        let mut rows = Vec::new();
        let mut warned = false;
        loop {
            let n = match reader.read(&mut block) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let _ = tx.send(Err(InputError(format!("cannot read input: {e}"))));
                    return;
                }
            };
            let result = if n == 0 {
                stream.finish(&mut rows)
            } else {
                stream.push(&block[..n], &mut rows)
            };
            if !warned && !stream.unknown_columns().is_empty() {
                warned = true;
                tracing::warn!(columns = %stream.unknown_columns().join(", "), "ignoring CSV columns that are not lead fields (use attributes.NAME for your own)");
            }
            // Whole batches go out as they fill; what a failed chunk completed goes out first.
            while rows.len() >= BATCH_RECORDS || (!rows.is_empty() && (n == 0 || result.is_err())) {
                let take = rows.len().min(BATCH_RECORDS);
                let records = rows
                    .drain(..take)
                    .map(|row| Record {
                        locator: Locator::Line(row.line),
                        body: Body::Lead(Box::new(row.lead)),
                    })
                    .collect();
                let batch = Batch {
                    data: BatchData::default(),
                    records,
                };
                if tx.send(Ok(batch)).is_err() {
                    return;
                }
            }
            if let Err(e) = result {
                let _ = tx.send(Err(InputError(e.to_string())));
                return;
            }
            if n == 0 {
                return;
            }
        }
    });
    rx
}
