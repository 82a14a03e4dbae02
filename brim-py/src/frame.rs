//! Arrow columns in, leads scored, Arrow columns out.
//!
//! A frame's columns are read as `brim score` reads a CSV file's header and cells: a column
//! named as a lead field (`company_name`, `tech_stack`, `contact.email`, `attributes.plan`, ...)
//! sets that field, other columns are left alone. Text cells go through the core's
//! [`Lead::set_text_field`] (numbers parsed, lists split on `;`), so a frame of text scores as
//! the same CSV does; typed cells (integers, floats, bools, lists of text) set the field
//! directly, with the core's error messages. A null cell (or a float NaN, pandas' missing
//! number) leaves the field unset. Struct columns `contact` and `attributes` are read by their
//! children. Then the lead is validated as a CSV row is.

use std::sync::Arc;

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::{Int8Type, Int64Type, UInt64Type};
use arrow_array::{
    Array, ArrayRef, BooleanArray, DictionaryArray, Float64Array, GenericListArray, Int8Array,
    Int64Array, LargeStringArray, RecordBatch, StringArray, StringViewArray, UInt8Array,
    UInt64Array,
};
use arrow_buffer::NullBuffer;
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use brim_core::{Action, AttrValue, Lead, LeadError, Scorer};
use rayon::prelude::*;

const ACTIONS: [Action; 3] = [
    Action::HighPriorityOutreach,
    Action::MediumPriorityOutreach,
    Action::LowPriorityMonitoring,
];

const LIST_FIELDS: [&str; 3] = ["tech_stack", "recent_job_posts", "news_mentions"];

/// Whether a column of this name is read as a lead field.
pub fn is_lead_column(name: &str) -> bool {
    name == "contact"
        || name == "attributes"
        || matches!(Lead::default().set_text_field(name, ""), Ok(true))
}

/// How a column's values are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Int,
    UInt,
    Float,
    Bool,
    List,
    /// Bytes, read as UTF-8 text row by row (a row that is not UTF-8 is that row's error).
    Binary,
}

/// One lead field read from a column (or a struct column's child).
#[derive(Debug, Clone)]
struct Entry {
    /// The lead field's name, as `set_text_field` names it.
    name: String,
    /// The attribute it sets, for `attributes.NAME` / `attr.NAME`.
    attribute: Option<String>,
    /// The column's index, then child indices into struct columns.
    path: Vec<usize>,
    kind: Kind,
}

/// Checks a frame's column names: a `company_name` column, and no lead column named twice.
/// The error names the columns found.
pub fn check_names<S: AsRef<str>>(names: &[S]) -> Result<(), String> {
    let names: Vec<&str> = names.iter().map(AsRef::as_ref).collect();
    for (i, name) in names.iter().enumerate() {
        if is_lead_column(name) && names[..i].contains(name) {
            return Err(format!(
                "the column {name:?} appears twice: give each column a distinct name"
            ));
        }
    }
    if !names.contains(&"company_name") {
        return Err(format!(
            "the data has no company_name column (found: {})",
            if names.is_empty() {
                "no columns".to_string()
            } else {
                names.join(", ")
            }
        ));
    }
    Ok(())
}

/// Which columns of a schema set which lead fields, and how.
#[derive(Debug, Clone)]
pub struct Columns {
    entries: Vec<Entry>,
}

impl Columns {
    /// Plans the reading of `schema`; an error names the column and what was expected.
    pub fn plan(schema: &Schema) -> Result<Columns, String> {
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        check_names(&names)?;
        let mut entries = Vec::new();
        for (i, f) in schema.fields().iter().enumerate() {
            let name = f.name().as_str();
            match (name, f.data_type()) {
                ("contact" | "attributes", DataType::Struct(children)) => {
                    for (j, child) in children.iter().enumerate() {
                        let field = format!("{name}.{}", child.name());
                        if !is_lead_column(&field) {
                            continue;
                        }
                        if let Some(kind) = kind_of(&field, child.data_type())? {
                            entries.push(Entry {
                                attribute: Lead::attribute_key(&field).map(str::to_string),
                                name: field,
                                path: vec![i, j],
                                kind,
                            });
                        }
                    }
                }
                // All null (a pandas column of None): nothing to read.
                ("contact" | "attributes", DataType::Null) => {}
                ("contact" | "attributes", other) => {
                    return Err(format!(
                        "column {name:?}: expected a struct column of {} (or flat columns such as {name}.{}), got {other}",
                        if name == "contact" {
                            "name, email and title"
                        } else {
                            "text, number or bool values"
                        },
                        if name == "contact" { "email" } else { "plan" }
                    ));
                }
                _ => {
                    if !is_lead_column(name) {
                        continue;
                    }
                    if let Some(kind) = kind_of(name, f.data_type())? {
                        entries.push(Entry {
                            name: name.to_string(),
                            attribute: Lead::attribute_key(name).map(str::to_string),
                            path: vec![i],
                            kind,
                        });
                    }
                }
            }
        }
        Ok(Columns { entries })
    }
}

/// How a column of `data_type` is read for `field` (None: all null, nothing to read).
fn kind_of(field: &str, data_type: &DataType) -> Result<Option<Kind>, String> {
    use DataType::*;
    let kind = match data_type {
        Null => return Ok(None),
        Utf8 | LargeUtf8 | Utf8View => Kind::Text,
        Int8 | Int16 | Int32 | Int64 => Kind::Int,
        UInt8 | UInt16 | UInt32 | UInt64 => Kind::UInt,
        Float16 | Float32 | Float64 | Decimal32(..) | Decimal64(..) | Decimal128(..)
        | Decimal256(..) => Kind::Float,
        Boolean => Kind::Bool,
        Binary | LargeBinary | BinaryView | FixedSizeBinary(_) => Kind::Binary,
        Dictionary(_, values) => return kind_of(field, values),
        List(child)
        | LargeList(child)
        | FixedSizeList(child, _)
        | ListView(child)
        | LargeListView(child) => {
            if !LIST_FIELDS.contains(&field) {
                return Err(format!(
                    "column {field:?}: expected text, a number or a bool, got a list ({data_type})"
                ));
            }
            if !arrow_cast::can_cast_types(child.data_type(), &Utf8) {
                return Err(format!(
                    "column {field:?}: expected a list of text, got {data_type}"
                ));
            }
            Kind::List
        }
        other
            if arrow_cast::can_cast_types(other, &Utf8)
                && !matches!(other, Struct(_) | Map(..)) =>
        {
            Kind::Text
        }
        other => {
            return Err(format!(
                "column {field:?}: expected text, a number, a bool{}, got {other}",
                if LIST_FIELDS.contains(&field) {
                    " or a list of text"
                } else {
                    ""
                }
            ));
        }
    };
    Ok(Some(kind))
}

/// A column prepared for reading: cast to the one Arrow type its kind is read from.
struct Prepared<'c> {
    entry: &'c Entry,
    array: ArrayRef,
    /// Struct columns above it: a null there makes the value null.
    parents: Vec<ArrayRef>,
}

fn prepare<'c>(batch: &RecordBatch, columns: &'c Columns) -> Result<Vec<Prepared<'c>>, String> {
    let mut out = Vec::with_capacity(columns.entries.len());
    for entry in &columns.entries {
        let mut array = batch.column(entry.path[0]).clone();
        let mut parents = Vec::new();
        for &child in &entry.path[1..] {
            let parent = array.clone();
            array = parent.as_struct().column(child).clone();
            parents.push(parent);
        }
        let target = match entry.kind {
            Kind::Text => match array.data_type() {
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => None,
                _ => Some(DataType::Utf8),
            },
            Kind::Int => Some(DataType::Int64),
            Kind::UInt => Some(DataType::UInt64),
            Kind::Float => Some(DataType::Float64),
            Kind::Bool => match array.data_type() {
                DataType::Boolean => None,
                _ => Some(DataType::Boolean),
            },
            Kind::List => Some(DataType::List(Arc::new(Field::new_list_field(
                DataType::Utf8,
                true,
            )))),
            Kind::Binary => Some(DataType::Binary),
        };
        if let Some(target) = target
            && array.data_type() != &target
        {
            // Not `safe`: a value that does not convert is an error, never a silent null.
            let options = arrow_cast::CastOptions {
                safe: false,
                ..Default::default()
            };
            array = arrow_cast::cast_with_options(&array, &target, &options).map_err(|e| {
                format!(
                    "column {:?}: could not read {} as {}: {e}",
                    entry.name,
                    array.data_type(),
                    target
                )
            })?;
        }
        out.push(Prepared {
            entry,
            array,
            parents,
        });
    }
    Ok(out)
}

enum Text<'a> {
    Utf8(&'a StringArray),
    Large(&'a LargeStringArray),
    View(&'a StringViewArray),
}

impl Text<'_> {
    fn of(array: &dyn Array) -> Text<'_> {
        match array.data_type() {
            DataType::LargeUtf8 => Text::Large(array.as_string::<i64>()),
            DataType::Utf8View => Text::View(array.as_string_view()),
            _ => Text::Utf8(array.as_string::<i32>()),
        }
    }
    fn value(&self, i: usize) -> &str {
        match self {
            Text::Utf8(a) => a.value(i),
            Text::Large(a) => a.value(i),
            Text::View(a) => a.value(i),
        }
    }
}

enum Values<'a> {
    Text(Text<'a>),
    Int(&'a Int64Array),
    UInt(&'a UInt64Array),
    Float(&'a Float64Array),
    Bool(&'a BooleanArray),
    List(&'a GenericListArray<i32>, &'a StringArray),
    Binary(&'a arrow_array::BinaryArray),
}

/// A prepared column, ready to read row by row.
struct Reader<'a> {
    name: &'a str,
    attribute: Option<&'a str>,
    values: Values<'a>,
    /// The column's nulls and those of the struct columns above it.
    nulls: Option<NullBuffer>,
}

impl<'a> Reader<'a> {
    fn new(p: &'a Prepared<'_>) -> Reader<'a> {
        let array: &dyn Array = p.array.as_ref();
        let values = match p.entry.kind {
            Kind::Text => Values::Text(Text::of(array)),
            Kind::Int => Values::Int(array.as_primitive::<Int64Type>()),
            Kind::UInt => Values::UInt(array.as_primitive::<UInt64Type>()),
            Kind::Float => Values::Float(array.as_primitive()),
            Kind::Bool => Values::Bool(array.as_boolean()),
            Kind::List => {
                let list = array.as_list::<i32>();
                Values::List(list, list.values().as_string::<i32>())
            }
            Kind::Binary => Values::Binary(array.as_binary::<i32>()),
        };
        let mut nulls = array.logical_nulls();
        for parent in &p.parents {
            nulls = NullBuffer::union(nulls.as_ref(), parent.logical_nulls().as_ref());
        }
        Reader {
            name: p.entry.name.as_str(),
            attribute: p.entry.attribute.as_deref(),
            values,
            nulls,
        }
    }

    /// Unsets this column's field, as an empty cell does.
    fn clear(&self, lead: &mut Lead) -> Result<(), LeadError> {
        match self.attribute {
            Some(key) => {
                lead.attributes.remove(key);
            }
            None => {
                lead.set_text_field(self.name, "")?;
            }
        }
        Ok(())
    }

    /// Sets this column's field from text, as `brim score` sets it from a CSV cell (an empty
    /// cell unsets it).
    fn set_text(&self, lead: &mut Lead, text: &str) -> Result<(), LeadError> {
        if self.attribute.is_some() && text.trim().is_empty() {
            return self.clear(lead);
        }
        lead.set_text_field(self.name, text).map(|_| ())
    }

    /// Sets this column's field from a whole number (`Err`: a negative one).
    fn set_whole(&self, lead: &mut Lead, value: Result<u64, i64>) -> Result<(), LeadError> {
        let text = || value.map_or_else(|n| n.to_string(), |n| n.to_string());
        if self.name == "employee_count" {
            lead.employee_count = Some(value.map_err(|_| expected_count(&text()))?);
        } else if let Some(key) = self.attribute {
            let number = value.map_or_else(|n| n as f64, |n| n as f64);
            set_attribute(lead, key, AttrValue::Number(number));
        } else {
            self.set_text(lead, &text())?;
        }
        Ok(())
    }

    /// Sets this column's field of `lead` from row `i` as `brim score` sets it from a CSV cell
    /// (a null cell, or an empty one, unsets it): every row sets every column's field, so one
    /// lead can be refilled row after row.
    fn set(&self, lead: &mut Lead, i: usize) -> Result<(), LeadError> {
        if self.nulls.as_ref().is_some_and(|n| n.is_null(i)) {
            return self.clear(lead);
        }
        let name = self.name;
        match &self.values {
            Values::Text(t) => self.set_text(lead, t.value(i))?,
            Values::Binary(a) => {
                let value = std::str::from_utf8(a.value(i)).map_err(|e| {
                    LeadError::new(
                        name,
                        format!(
                            "expected UTF-8 text, found a byte that is not at byte {}",
                            e.valid_up_to() + 1
                        ),
                    )
                })?;
                self.set_text(lead, value)?;
            }
            Values::Int(a) => {
                let v = a.value(i);
                self.set_whole(lead, u64::try_from(v).map_err(|_| v))?;
            }
            Values::UInt(a) => self.set_whole(lead, Ok(a.value(i)))?,
            Values::Float(a) => {
                let v = a.value(i);
                if v.is_nan() {
                    return self.clear(lead);
                }
                if name == "employee_count" {
                    if !(v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v < 1.8e19) {
                        return Err(expected_count(&v.to_string()));
                    }
                    lead.employee_count = Some(v as u64);
                } else if let Some(key) = self.attribute {
                    if v.is_finite() {
                        set_attribute(lead, key, AttrValue::Number(v));
                    } else {
                        self.clear(lead)?;
                    }
                } else if v.fract() == 0.0 && v.abs() < 1e15 {
                    self.set_text(lead, &(v as i64).to_string())?;
                } else {
                    self.set_text(lead, &v.to_string())?;
                }
            }
            Values::Bool(a) => {
                let v = a.value(i);
                if name == "employee_count" {
                    return Err(expected_count(&v.to_string()));
                } else if let Some(key) = self.attribute {
                    set_attribute(lead, key, AttrValue::Bool(v));
                } else {
                    self.set_text(lead, if v { "true" } else { "false" })?;
                }
            }
            Values::List(list, strings) => {
                let offsets = list.value_offsets();
                let (start, end) = (offsets[i] as usize, offsets[i + 1] as usize);
                let items = (start..end)
                    .filter(|&j| strings.is_valid(j))
                    .map(|j| strings.value(j));
                lead.set_list_field(name, items);
            }
        }
        Ok(())
    }
}

fn set_attribute(lead: &mut Lead, key: &str, value: AttrValue) {
    match lead.attributes.get_mut(key) {
        Some(slot) => *slot = value,
        None => {
            lead.attributes.insert(key.to_string(), value);
        }
    }
}

fn expected_count(got: &str) -> LeadError {
    LeadError::new(
        "employee_count",
        format!("expected a whole number >= 0, got {got}"),
    )
}

/// Reads row `i` into `lead` (refilled, not fresh: every column sets its field), validated as
/// a CSV row is.
fn read_lead(readers: &[Reader<'_>], i: usize, lead: &mut Lead) -> Result<(), LeadError> {
    for r in readers {
        r.set(lead, i)?;
    }
    if lead.company_name.trim().is_empty() {
        return Err(LeadError::new("company_name", "required field is missing"));
    }
    lead.validate()
}

/// The scores of some frame rows.
pub struct Scored {
    /// The score columns' schema.
    pub schema: SchemaRef,
    /// The score columns, one row per good input row, in order.
    pub batches: Vec<RecordBatch>,
    /// The input positions of the good rows, when a bad row was left out.
    pub kept: Option<RecordBatch>,
    /// The bad rows: position and error, in order.
    pub errors: Vec<(usize, LeadError)>,
}

/// The score columns appended to a frame: with `summary` only the numbers and the action.
pub fn out_schema(summary: bool) -> SchemaRef {
    let text_list = || DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true)));
    let mut fields = Vec::new();
    if !summary {
        fields.push(Field::new("company_id", DataType::Utf8, false));
    }
    fields.extend([
        Field::new("fit_score", DataType::UInt8, false),
        Field::new("intent_score", DataType::UInt8, false),
        Field::new("total_score", DataType::UInt8, false),
        Field::new("confidence", DataType::Float64, false),
        Field::new(
            "action",
            DataType::Dictionary(Box::new(DataType::Int8), Box::new(DataType::Utf8)),
            false,
        ),
    ]);
    if !summary {
        for name in ["reasons_positive", "reasons_negative", "reasons_missing"] {
            fields.push(Field::new(name, text_list(), false));
        }
    }
    Arc::new(Schema::new(fields))
}

/// One chunk of rows scored.
struct ChunkOut {
    batch: RecordBatch,
    errors: Vec<(usize, LeadError)>,
}

fn score_chunk(
    scorer: &Scorer,
    prepared: &[Prepared<'_>],
    schema: &SchemaRef,
    rows: std::ops::Range<usize>,
    base: usize,
    summary: bool,
    stop_at_first: bool,
) -> Result<ChunkOut, String> {
    let readers: Vec<Reader<'_>> = prepared.iter().map(Reader::new).collect();
    let n = rows.len();
    let mut fit = Vec::with_capacity(n);
    let mut intent = Vec::with_capacity(n);
    let mut total = Vec::with_capacity(n);
    let mut confidence = Vec::with_capacity(n);
    let mut action = Vec::with_capacity(n);
    let mut errors = Vec::new();
    let mut ids = (!summary).then(|| StringBuilder::with_capacity(n, n * 15));
    let mut reasons: Vec<ListBuilder<StringBuilder>> = if summary {
        Vec::new()
    } else {
        (0..3)
            .map(|_| {
                ListBuilder::with_capacity(StringBuilder::new(), n)
                    .with_field(Arc::new(Field::new_list_field(DataType::Utf8, true)))
            })
            .collect()
    };
    // One lead for the whole chunk, refilled row after row: its buffers are reused.
    let mut lead = Lead::default();
    for i in rows {
        match read_lead(&readers, i, &mut lead) {
            Ok(()) => {}
            Err(e) => {
                errors.push((base + i, e));
                if stop_at_first {
                    break;
                }
                continue;
            }
        };
        let score = scorer.score(&lead);
        fit.push(score.fit_score);
        intent.push(score.intent_score);
        total.push(score.total_score);
        confidence.push(score.confidence);
        action.push(ACTIONS.iter().position(|a| *a == score.action).unwrap_or(2) as i8);
        if let Some(ids) = ids.as_mut() {
            ids.append_value(lead.company_id());
            let why = scorer.reasoning(&lead, &score);
            let lists = [&why.positive, &why.negative, &why.missing];
            for (builder, list) in reasons.iter_mut().zip(lists) {
                for reason in list {
                    builder.values().append_value(reason);
                }
                builder.append(true);
            }
        }
    }
    let names = StringArray::from_iter_values(ACTIONS.iter().map(|a| a.as_str()));
    let action = DictionaryArray::<Int8Type>::try_new(Int8Array::from(action), Arc::new(names))
        .map_err(|e| e.to_string())?;
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    if let Some(mut ids) = ids {
        columns.push(Arc::new(ids.finish()));
    }
    columns.push(Arc::new(UInt8Array::from(fit)));
    columns.push(Arc::new(UInt8Array::from(intent)));
    columns.push(Arc::new(UInt8Array::from(total)));
    columns.push(Arc::new(Float64Array::from(confidence)));
    columns.push(Arc::new(action));
    for mut b in reasons {
        columns.push(Arc::new(b.finish()));
    }
    let batch = RecordBatch::try_new(schema.clone(), columns).map_err(|e| e.to_string())?;
    Ok(ChunkOut { batch, errors })
}

/// Scores every row of `batches` (on the current rayon pool), in order.
pub fn score_batches(
    scorer: &Scorer,
    columns: &Columns,
    batches: &[RecordBatch],
    summary: bool,
    stop_at_first: bool,
) -> Result<Scored, String> {
    let schema = out_schema(summary);
    let threads = rayon::current_num_threads().max(1);
    let mut out = Scored {
        schema: schema.clone(),
        batches: Vec::new(),
        kept: None,
        errors: Vec::new(),
    };
    let mut base = 0;
    for batch in batches {
        let n = batch.num_rows();
        let prepared = prepare(batch, columns)?;
        // Chunks of 4,096..65,536 rows, about four per thread: enough to balance the load,
        // few enough that the output has few Arrow chunks.
        let size = n.div_ceil(threads * 4).clamp(4096, 65536);
        let chunks: Vec<std::ops::Range<usize>> =
            (0..n).step_by(size).map(|s| s..(s + size).min(n)).collect();
        let results: Vec<Result<ChunkOut, String>> = chunks
            .into_par_iter()
            .map(|rows| {
                score_chunk(
                    scorer,
                    &prepared,
                    &schema,
                    rows,
                    base,
                    summary,
                    stop_at_first,
                )
            })
            .collect();
        for r in results {
            let chunk = r?;
            if chunk.batch.num_rows() > 0 {
                out.batches.push(chunk.batch);
            }
            out.errors.extend(chunk.errors);
        }
        base += n;
        if stop_at_first && !out.errors.is_empty() {
            return Ok(out);
        }
    }
    if !out.errors.is_empty() {
        // The good rows' positions: every row but the bad ones (in order, as the errors are).
        let mut bad = out.errors.iter().map(|(row, _)| *row).peekable();
        let kept: UInt64Array = (0..base)
            .filter(|row| bad.next_if_eq(row).is_none())
            .map(|row| row as u64)
            .collect();
        let kept_schema = Arc::new(Schema::new(vec![Field::new(
            "row",
            DataType::UInt64,
            false,
        )]));
        let array: ArrayRef = Arc::new(kept);
        out.kept = Some(RecordBatch::try_new(kept_schema, vec![array]).map_err(|e| e.to_string())?);
    }
    Ok(out)
}
