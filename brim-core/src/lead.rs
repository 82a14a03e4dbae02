//! The lead: a company record to score and, later, to write to.
//!
//! JSON field names are the original system's (`company_name`, `employee_count`, `industry`,
//! `funding_stage`, `tech_stack`, `recent_job_posts`, `news_mentions`) plus `id`, `contact`,
//! `timezone`, `country`, `domain` and `attributes`. Unknown fields are ignored, as the original
//! did. Validation errors name the field and what was expected.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};

use crate::error::LeadError;

/// A company to score.
///
/// ```
/// use brim_core::Lead;
/// let lead = Lead::from_json(r#"{"company_name": "Acme", "employee_count": 120}"#).unwrap();
/// assert_eq!(lead.employee_count, Some(120));
/// assert_eq!(lead.company_id(), "ed099798f237671"); // SHA-1 of "Acme", as the original
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Lead {
    /// The caller's own id for this company; when given it is the `company_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The company's name (required, non-empty).
    pub company_name: String,
    /// Head count, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub employee_count: Option<u64>,
    /// Free-text industry, e.g. "SaaS".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub industry: Option<String>,
    /// e.g. "Seed", "Series A".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub funding_stage: Option<String>,
    /// Tools the company uses, e.g. `["Zapier", "AWS"]`. Empty means unknown.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tech_stack: Vec<String>,
    /// Titles of the company's open positions. Empty means unknown.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub recent_job_posts: Vec<String>,
    /// News headlines about the company. Empty means unknown.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub news_mentions: Vec<String>,
    /// The person to write to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<Contact>,
    /// IANA time zone of the lead, e.g. `Europe/Berlin`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Country (free text or ISO code).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// The company's web domain, e.g. `acme.com`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// The user's own signals: string, number or bool values by name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, AttrValue>,
    /// Where values came from when a data provider filled them in (`employee_count` →
    /// Apollo, its id, when): set by [`crate::enrich::merge`], kept by [`Lead::merge`] until a
    /// newer record states the field itself. Absent: the values are the user's own. (Read from
    /// JSON everywhere but in the npm package, which scores without it.)
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub sources: BTreeMap<String, FieldSource>,
}

/// Where one of a lead's values came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct FieldSource {
    /// The data provider.
    pub provider: String,
    /// The provider's own id for the company.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// When the provider's answer was fetched (Unix ms).
    pub fetched_at: i64,
}

/// The person at a lead to write to.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Contact {
    /// Full name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// E-mail address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Job title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// A value of a custom attribute.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum AttrValue {
    /// `true` / `false`.
    Bool(bool),
    /// Any JSON number.
    Number(f64),
    /// Any string.
    Text(String),
}

impl fmt::Display for AttrValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttrValue::Bool(b) => write!(f, "{b}"),
            AttrValue::Number(n) => f.write_str(&format_number(*n)),
            AttrValue::Text(s) => f.write_str(s),
        }
    }
}

/// Formats a number as the user would write it: `150`, not `150.0`.
pub(crate) fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        itoa::Buffer::new().format(n as i64).to_string()
    } else {
        format!("{n}")
    }
}

/// The original system's company id: the first 15 hex characters of SHA-1 of `name` as given.
pub fn company_id_for_name(name: &str) -> String {
    let digest = Sha1::digest(name.as_bytes());
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(15);
    for byte in digest.iter().take(8) {
        out.push(HEX[(byte >> 4) as usize] as char);
        out.push(HEX[(byte & 0xf) as usize] as char);
    }
    out.truncate(15);
    out
}

/// The seven input fields of the original record, in its order.
pub const ORIGINAL_FIELDS: [&str; 7] = [
    "company_name",
    "employee_count",
    "industry",
    "funding_stage",
    "tech_stack",
    "recent_job_posts",
    "news_mentions",
];

impl Lead {
    /// A lead with only a name.
    pub fn new(company_name: impl Into<String>) -> Self {
        Lead {
            company_name: company_name.into(),
            ..Lead::default()
        }
    }

    /// The lead's stable id: its `id` when given, else the original's hash of `company_name`
    /// exactly as given (so `"Acme"` and `"Acme "` are two companies).
    pub fn company_id(&self) -> Cow<'_, str> {
        match &self.id {
            Some(id) => Cow::Borrowed(id),
            None => Cow::Owned(company_id_for_name(&self.company_name)),
        }
    }

    /// Parses one lead from JSON text, with errors that name the field.
    ///
    /// A UTF-8 byte-order mark at the start is ignored.
    pub fn from_json(text: &str) -> Result<Lead, LeadError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        serde_json::from_str(text).map_err(lead_error_from_json)
    }

    /// Parses one lead from JSON bytes (e.g. one line of a JSON-lines file), with errors that
    /// name the field. A UTF-8 byte-order mark at the start is ignored.
    ///
    /// Bytes that are not UTF-8 are an error naming where they are. (The text is checked once,
    /// then parsed as [`from_json`](Self::from_json) does: one parser, not one per input type,
    /// which keeps the WebAssembly build small.)
    pub fn from_json_slice(bytes: &[u8]) -> Result<Lead, LeadError> {
        match std::str::from_utf8(bytes) {
            Ok(text) => Lead::from_json(text),
            Err(e) => Err(LeadError::new(
                "(json)",
                format!(
                    "expected UTF-8 text, found a byte that is not at byte {} (save the file as UTF-8)",
                    e.valid_up_to() + 1
                ),
            )),
        }
    }

    /// Checks what the type system cannot: a non-empty name, a plausible e-mail address, a known
    /// time zone, and the [limits](crate::limits) on every field's length and every list's size.
    /// Every way a lead enters Brim ends here, so the limits are the same everywhere.
    pub fn validate(&self) -> Result<(), LeadError> {
        use crate::limits::{self, check_count, check_len};
        if self.company_name.trim().is_empty() {
            return Err(LeadError::new(
                "company_name",
                format!(
                    "expected a non-empty string, got {}",
                    limits::quote(&self.company_name)
                ),
            ));
        }
        check_len("company_name", &self.company_name, limits::COMPANY_NAME)?;
        let contact = self.contact.as_ref();
        let texts = [
            ("id", self.id.as_ref(), limits::ID),
            ("industry", self.industry.as_ref(), limits::SHORT_TEXT),
            (
                "funding_stage",
                self.funding_stage.as_ref(),
                limits::SHORT_TEXT,
            ),
            ("country", self.country.as_ref(), limits::SHORT_TEXT),
            ("timezone", self.timezone.as_ref(), limits::TIMEZONE),
            ("domain", self.domain.as_ref(), limits::DOMAIN),
            (
                "contact.name",
                contact.and_then(|c| c.name.as_ref()),
                limits::CONTACT_TEXT,
            ),
            (
                "contact.title",
                contact.and_then(|c| c.title.as_ref()),
                limits::CONTACT_TEXT,
            ),
            (
                "contact.email",
                contact.and_then(|c| c.email.as_ref()),
                limits::EMAIL,
            ),
        ];
        for (field, text, max) in texts {
            if let Some(text) = text {
                check_len(field, text, max)?;
            }
        }
        for (field, list) in [
            ("tech_stack", &self.tech_stack),
            ("recent_job_posts", &self.recent_job_posts),
            ("news_mentions", &self.news_mentions),
        ] {
            check_count(field, list.len(), limits::LIST_ITEMS, "items")?;
            for (i, item) in list.iter().enumerate() {
                if item.len() > limits::LIST_ITEM {
                    check_len(&format!("{field}[{i}]"), item, limits::LIST_ITEM)?;
                }
            }
        }
        check_count(
            "attributes",
            self.attributes.len(),
            limits::ATTRIBUTES,
            "entries",
        )?;
        for (name, value) in &self.attributes {
            if name.len() > limits::ATTRIBUTE_NAME {
                check_len("attributes", name, limits::ATTRIBUTE_NAME)
                    .map_err(|e| LeadError::new(e.field, format!("a name {}", e.message)))?;
            }
            if let AttrValue::Text(text) = value
                && text.len() > limits::ATTRIBUTE_TEXT
            {
                check_len(&format!("attributes.{name}"), text, limits::ATTRIBUTE_TEXT)?;
            }
        }
        // (The npm package reads no provenance: compiled out there.)
        if !cfg!(target_arch = "wasm32") {
            self.validate_sources()?;
        }
        if let Some(email) = self.contact.as_ref().and_then(|c| c.email.as_deref())
            && !looks_like_email(email)
        {
            return Err(LeadError::new(
                "contact.email",
                format!(
                    "expected an e-mail address like name@example.com, got {}",
                    limits::quote(email)
                ),
            ));
        }
        if let Some(tz) = &self.timezone
            && !looks_like_timezone(tz)
        {
            return Err(LeadError::new(
                "timezone",
                format!(
                    "expected an IANA time zone like \"Europe/Berlin\", got {}",
                    limits::quote(tz)
                ),
            ));
        }
        Ok(())
    }

    /// [`Lead::validate`]'s check of `sources`: enrichable fields, short provider names and ids.
    fn validate_sources(&self) -> Result<(), LeadError> {
        use crate::limits::{self, check_count, check_len};
        check_count(
            "sources",
            self.sources.len(),
            crate::enrich::ENRICHABLE.len() + limits::ATTRIBUTES,
            "entries",
        )?;
        for (field, source) in &self.sources {
            if !crate::enrich::enrichable(field) {
                return Err(LeadError::new(
                    "sources",
                    format!("{} is not a field a provider may set", limits::quote(field)),
                ));
            }
            check_len(&format!("sources.{field}.provider"), &source.provider, 64)?;
            if let Some(id) = &source.id {
                check_len(&format!("sources.{field}.id"), id, limits::ID)?;
            }
        }
        Ok(())
    }

    /// Sets one field from text, as found in a CSV cell or a form: numbers are parsed, lists are
    /// split on `;`, `contact.email` style names reach into the contact, `attributes.NAME` (or
    /// `attr.NAME`) sets a custom attribute (a number when it parses as one, a bool for
    /// `true`/`false`, else text). An empty cell leaves the field unset: it unsets a field set
    /// before (`company_name` becomes empty), but an attribute set before stays (remove it from
    /// `attributes` when refilling a lead).
    ///
    /// The field's buffers are reused, so one lead refilled row after row allocates little.
    /// Returns `Ok(false)` when `name` is not a lead field (the caller decides whether to care).
    pub fn set_text_field(&mut self, name: &str, text: &str) -> Result<bool, LeadError> {
        let value = text.trim();
        match name.trim() {
            "id" => put(&mut self.id, value),
            "company_name" => {
                self.company_name.clear();
                self.company_name.push_str(value);
            }
            "employee_count" => {
                self.employee_count = if value.is_empty() {
                    None
                } else {
                    Some(parse_count_text(value).ok_or_else(|| {
                        LeadError::new(
                            "employee_count",
                            expected_count(&crate::limits::quote(value)),
                        )
                    })?)
                }
            }
            "industry" => put(&mut self.industry, value),
            "funding_stage" => put(&mut self.funding_stage, value),
            "tech_stack" => put_list(&mut self.tech_stack, split_list(value)),
            "recent_job_posts" => put_list(&mut self.recent_job_posts, split_list(value)),
            "news_mentions" => put_list(&mut self.news_mentions, split_list(value)),
            "timezone" => put(&mut self.timezone, value),
            "country" => put(&mut self.country, value),
            "domain" => put(&mut self.domain, value),
            "contact.name" | "contact_name" => put(&mut self.contact_mut().name, value),
            "contact.email" | "contact_email" | "email" => {
                put(&mut self.contact_mut().email, value)
            }
            "contact.title" | "contact_title" => put(&mut self.contact_mut().title, value),
            other => {
                let Some(key) = Lead::attribute_key(other) else {
                    return Ok(false);
                };
                if !value.is_empty() {
                    self.attributes
                        .insert(key.to_string(), AttrValue::from_text(value));
                }
            }
        }
        Ok(true)
    }

    /// Sets a list field (`tech_stack`, `recent_job_posts`, `news_mentions`) to `items` as given
    /// (not split, not trimmed: as a JSON list is read), reusing its buffers. Returns `false`,
    /// changing nothing, when `name` is not a list field.
    pub fn set_list_field<'a>(
        &mut self,
        name: &str,
        items: impl IntoIterator<Item = &'a str>,
    ) -> bool {
        let list = match name.trim() {
            "tech_stack" => &mut self.tech_stack,
            "recent_job_posts" => &mut self.recent_job_posts,
            "news_mentions" => &mut self.news_mentions,
            _ => return false,
        };
        put_list(list, items.into_iter());
        true
    }

    /// The attribute a field name sets: `NAME` of `attributes.NAME` or `attr.NAME`.
    pub fn attribute_key(name: &str) -> Option<&str> {
        let name = name.trim();
        name.strip_prefix("attributes.")
            .or_else(|| name.strip_prefix("attr."))
    }

    /// Folds a newer record of the same company into this one. **What the newer record states
    /// wins; what it leaves out is kept**: a re-import without `contact` does not erase the
    /// contact. Lists are replaced when the newer list is non-empty; contact fields and
    /// attributes are overlaid one by one.
    ///
    /// ```
    /// use brim_core::Lead;
    /// let mut stored = Lead::from_json(r#"{"company_name": "Acme", "industry": "SaaS",
    ///     "contact": {"email": "ada@acme.io"}}"#).unwrap();
    /// stored.merge(Lead::from_json(r#"{"company_name": "Acme", "employee_count": 50}"#).unwrap());
    /// assert_eq!(stored.industry.as_deref(), Some("SaaS"));
    /// assert_eq!(stored.employee_count, Some(50));
    /// assert!(stored.contact.is_some());
    /// ```
    pub fn merge(&mut self, mut newer: Lead) {
        fn keep<T>(old: &mut Option<T>, new: Option<T>) {
            if new.is_some() {
                *old = new;
            }
        }
        fn keep_list(old: &mut Vec<String>, new: Vec<String>) {
            if !new.is_empty() {
                *old = new;
            }
        }
        // A field the newer record states is its own now, unless it says where it came from.
        if !self.sources.is_empty() {
            let stated: Vec<String> = self
                .sources
                .keys()
                .filter(|f| crate::enrich::current(&newer, f).is_some())
                .cloned()
                .collect();
            for field in stated {
                self.sources.remove(&field);
            }
        }
        self.sources.extend(std::mem::take(&mut newer.sources));
        keep(&mut self.id, newer.id);
        if !newer.company_name.is_empty() {
            self.company_name = newer.company_name;
        }
        keep(&mut self.employee_count, newer.employee_count);
        keep(&mut self.industry, newer.industry);
        keep(&mut self.funding_stage, newer.funding_stage);
        keep_list(&mut self.tech_stack, newer.tech_stack);
        keep_list(&mut self.recent_job_posts, newer.recent_job_posts);
        keep_list(&mut self.news_mentions, newer.news_mentions);
        keep(&mut self.timezone, newer.timezone);
        keep(&mut self.country, newer.country);
        keep(&mut self.domain, newer.domain);
        if let Some(c) = newer.contact {
            let mine = self.contact_mut();
            keep(&mut mine.name, c.name);
            keep(&mut mine.email, c.email);
            keep(&mut mine.title, c.title);
        }
        self.attributes.extend(newer.attributes);
    }

    fn contact_mut(&mut self) -> &mut Contact {
        self.contact.get_or_insert_with(Contact::default)
    }
}

/// Sets an optional text to `value` (empty: unset), reusing its buffer.
fn put(slot: &mut Option<String>, value: &str) {
    if value.is_empty() {
        *slot = None;
    } else if let Some(s) = slot {
        s.clear();
        s.push_str(value);
    } else {
        *slot = Some(value.to_string());
    }
}

fn split_list(value: &str) -> impl Iterator<Item = &str> {
    value.split(';').map(str::trim).filter(|s| !s.is_empty())
}

/// Sets a list to `items`, reusing its strings' buffers.
fn put_list<'a>(list: &mut Vec<String>, items: impl Iterator<Item = &'a str>) {
    let mut n = 0;
    for item in items {
        match list.get_mut(n) {
            Some(slot) => {
                slot.clear();
                slot.push_str(item);
            }
            None => list.push(item.to_string()),
        }
        n += 1;
    }
    list.truncate(n);
}

impl AttrValue {
    /// Reads a cell: `true`/`false` → bool, a finite number → number, anything else → text.
    pub fn from_text(text: &str) -> AttrValue {
        match text {
            "true" | "TRUE" | "True" => AttrValue::Bool(true),
            "false" | "FALSE" | "False" => AttrValue::Bool(false),
            _ => match text.parse::<f64>() {
                Ok(n) if n.is_finite() => AttrValue::Number(n),
                _ => AttrValue::Text(text.to_string()),
            },
        }
    }
}

fn looks_like_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !s.chars().any(|c| c.is_whitespace() || c == '<' || c == '>')
                && !domain.contains('@')
        }
        None => false,
    }
}

fn looks_like_timezone(s: &str) -> bool {
    crate::zones::is_zone_name(s)
}

fn expected_count(got: &str) -> String {
    format!("expected a whole number >= 0, got {got}")
}

fn parse_count_text(s: &str) -> Option<u64> {
    if let Ok(n) = s.parse::<u64>() {
        return Some(n);
    }
    let f: f64 = s.parse().ok()?;
    whole_non_negative(f)
}

fn whole_non_negative(f: f64) -> Option<u64> {
    (f.is_finite() && f >= 0.0 && f.fract() == 0.0 && f < 1.8e19).then_some(f as u64)
}

/// Turns a serde_json error into a [`LeadError`]: our own messages already start with the
/// field name (`employee_count: ...`); syntax errors name the JSON position.
pub(crate) fn lead_error_from_json(err: serde_json::Error) -> LeadError {
    let text = err.to_string();
    // serde_json appends " at line L column C"; keep the position only for syntax errors.
    let message = match text.rfind(" at line ") {
        Some(pos) if err.is_data() => text[..pos].to_string(),
        _ => text,
    };
    match message.split_once(": ") {
        Some((field, rest)) if err.is_data() && is_field_path(field) => {
            LeadError::new(field, rest.to_string())
        }
        _ if err.is_eof() || err.is_syntax() => {
            LeadError::new("(json)", format!("not valid JSON: {message}"))
        }
        _ => LeadError::new("(lead)", message),
    }
}

fn is_field_path(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '[' | ']'))
}

// ---------------------------------------------------------------------------------------------
// Deserialisation with field-naming errors.
//
// serde's derived messages ("invalid type: string \"abc\", expected u64") do not name the field,
// so each field is read by a small visitor that knows its name and says what it expected.

/// What a JSON value looked like, for "got ..." in messages.
fn describe_unexpected(u: de::Unexpected<'_>) -> String {
    match u {
        de::Unexpected::Str(s) => crate::limits::quote(s),
        de::Unexpected::Bool(b) => b.to_string(),
        de::Unexpected::Unsigned(n) => n.to_string(),
        de::Unexpected::Signed(n) => n.to_string(),
        // 1e308 prints as 309 digits: a long number is cut short.
        de::Unexpected::Float(n) => crate::limits::clip(&n.to_string()),
        de::Unexpected::Seq => "a list".to_string(),
        de::Unexpected::Map => "an object".to_string(),
        de::Unexpected::Unit | de::Unexpected::Option => "null".to_string(),
        other => crate::limits::clip(&other.to_string()),
    }
}

/// Writes the `visit_*` methods of a visitor that reject those JSON types, each through the
/// visitor's own `fail` (which names the field and what it expected).
macro_rules! reject_with_fail {
    ($($kind:ident),+) => { $(reject_with_fail!(@ $kind);)+ };
    (@ bool) => {
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Err(self.fail(de::Unexpected::Bool(v)))
        }
    };
    (@ i64) => {
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Err(self.fail(de::Unexpected::Signed(v)))
        }
    };
    (@ u64) => {
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Err(self.fail(de::Unexpected::Unsigned(v)))
        }
    };
    (@ f64) => {
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Err(self.fail(de::Unexpected::Float(v)))
        }
    };
    (@ str) => {
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Err(self.fail(de::Unexpected::Str(v)))
        }
    };
    (@ seq) => {
        fn visit_seq<A: SeqAccess<'de>>(self, _seq: A) -> Result<Self::Value, A::Error> {
            Err(self.fail(de::Unexpected::Seq))
        }
    };
    (@ map) => {
        fn visit_map<A: MapAccess<'de>>(self, _map: A) -> Result<Self::Value, A::Error> {
            Err(self.fail(de::Unexpected::Map))
        }
    };
}

/// Reads an optional string field (`null` → `None`).
struct OptText<'a>(&'a str);

impl OptText<'_> {
    fn fail<E: de::Error>(&self, u: de::Unexpected<'_>) -> E {
        E::custom(format!(
            "{}: expected a string, got {}",
            self.0,
            describe_unexpected(u)
        ))
    }
}

impl<'de> DeserializeSeed<'de> for OptText<'_> {
    type Value = Option<String>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for OptText<'_> {
    type Value = Option<String>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}: a string", self.0)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    reject_with_fail!(bool, i64, u64, f64, seq, map);
}

/// Reads a list of strings (`null` → empty); with `.1`, stops at the first item past
/// [`limits::LIST_ITEMS`](crate::limits::LIST_ITEMS) (a million-item list is refused, not built).
struct TextList<'a>(&'a str, bool);

impl TextList<'_> {
    fn fail<E: de::Error>(&self, u: de::Unexpected<'_>) -> E {
        E::custom(format!(
            "{}: expected a list of strings, got {}",
            self.0,
            describe_unexpected(u)
        ))
    }
}

impl<'de> DeserializeSeed<'de> for TextList<'_> {
    type Value = Vec<String>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TextList<'_> {
    type Value = Vec<String>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}: a list of strings", self.0)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        let mut index = 0usize;
        loop {
            let path = ItemPath(self.0, index);
            match seq.next_element_seed(ListItem(&path))? {
                Some(Some(_)) if self.1 && out.len() == crate::limits::LIST_ITEMS => {
                    let n = crate::limits::LIST_ITEMS + 1;
                    crate::limits::check_count(self.0, n, n - 1, "items")
                        .map_err(de::Error::custom)?;
                }
                Some(Some(s)) => out.push(s),
                Some(None) => {}
                None => break,
            }
            index += 1;
        }
        Ok(out)
    }
    reject_with_fail!(bool, i64, u64, f64, str, map);
}

struct ItemPath<'a>(&'a str, usize);

impl fmt::Display for ItemPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}]", self.0, self.1)
    }
}

/// One item of a list of strings; `null` items are skipped.
struct ListItem<'a, 'b>(&'a ItemPath<'b>);

impl ListItem<'_, '_> {
    fn fail<E: de::Error>(&self, u: de::Unexpected<'_>) -> E {
        E::custom(format!(
            "{}: expected a string, got {}",
            self.0,
            describe_unexpected(u)
        ))
    }
}

impl<'de> DeserializeSeed<'de> for ListItem<'_, '_> {
    type Value = Option<String>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ListItem<'_, '_> {
    type Value = Option<String>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}: a string", self.0)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    reject_with_fail!(bool, i64, u64, f64, seq, map);
}

/// Reads `employee_count`: a whole number >= 0, as a number or numeric string; `null` → `None`.
struct OptCount;

impl OptCount {
    fn fail<E: de::Error>(&self, u: de::Unexpected<'_>) -> E {
        E::custom(format!(
            "employee_count: {}",
            expected_count(&describe_unexpected(u))
        ))
    }
}

impl<'de> Visitor<'de> for OptCount {
    type Value = Option<u64>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("employee_count: a whole number >= 0")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        u64::try_from(v)
            .map(Some)
            .map_err(|_| self.fail(de::Unexpected::Signed(v)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        whole_non_negative(v)
            .map(Some)
            .ok_or_else(|| self.fail(de::Unexpected::Float(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        if v.trim().is_empty() {
            return Ok(None);
        }
        parse_count_text(v.trim())
            .map(Some)
            .ok_or_else(|| self.fail(de::Unexpected::Str(v)))
    }
    reject_with_fail!(bool, seq, map);
}

/// Reads `contact`: an object with optional `name`, `email`, `title`.
struct ContactVisitor;

impl ContactVisitor {
    fn fail<E: de::Error>(&self, u: de::Unexpected<'_>) -> E {
        E::custom(format!(
            "contact: expected an object with name, email and title, got {}",
            describe_unexpected(u)
        ))
    }
}

impl<'de> Visitor<'de> for ContactVisitor {
    type Value = Option<Contact>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("contact: an object")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut c = Contact::default();
        let mut seen = Seen(0);
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            seen.check(&["name", "email", "title"], "contact.", &key)?;
            match key.as_ref() {
                "name" => c.name = map.next_value_seed(OptText("contact.name"))?,
                "email" => c.email = map.next_value_seed(OptText("contact.email"))?,
                "title" => c.title = map.next_value_seed(OptText("contact.title"))?,
                _ => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        Ok(Some(c))
    }
    reject_with_fail!(bool, i64, u64, f64, str, seq);
}

/// Reads `attributes`: an object of string, number or bool values (`null` values are dropped).
/// A name given twice is refused; with `.0`, so is an entry past
/// [`limits::ATTRIBUTES`](crate::limits::ATTRIBUTES).
struct AttributesVisitor(bool);

impl<'de> Visitor<'de> for AttributesVisitor {
    type Value = BTreeMap<String, AttrValue>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("attributes: an object")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(BTreeMap::new())
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(BTreeMap::new())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = BTreeMap::new();
        // Names given with null (dropped), for the "given twice" check.
        let mut nulls: Vec<String> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) || nulls.contains(&key) {
                return Err(de::Error::custom(format!(
                    "attributes.{}: {TWICE}",
                    crate::limits::clip(&key)
                )));
            }
            let value: serde_json::Value = map.next_value()?;
            let v = match value {
                serde_json::Value::Null => {
                    nulls.push(key);
                    continue;
                }
                serde_json::Value::Bool(b) => AttrValue::Bool(b),
                serde_json::Value::Number(n) => AttrValue::Number(n.as_f64().unwrap_or(f64::NAN)),
                serde_json::Value::String(s) => AttrValue::Text(s),
                other => {
                    return Err(de::Error::custom(format!(
                        "attributes.{}: expected a string, number or bool, got {}",
                        crate::limits::clip(&key),
                        if other.is_array() {
                            "a list"
                        } else {
                            "an object"
                        }
                    )));
                }
            };
            if self.0 {
                crate::limits::check_count(
                    "attributes",
                    out.len() + 1,
                    crate::limits::ATTRIBUTES,
                    "entries",
                )
                .map_err(de::Error::custom)?;
            }
            out.insert(key, v);
        }
        Ok(out)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Err(E::custom(format!(
            "attributes: expected an object of string, number or bool values, got {}",
            crate::limits::quote(v)
        )))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _seq: A) -> Result<Self::Value, A::Error> {
        Err(de::Error::custom(
            "attributes: expected an object of string, number or bool values, got a list",
        ))
    }
}

macro_rules! seed_from_visitor {
    ($name:ident, $visitor:expr, $value:ty) => {
        struct $name;
        impl<'de> DeserializeSeed<'de> for $name {
            type Value = $value;
            fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_any($visitor)
            }
        }
    };
}
seed_from_visitor!(CountSeed, OptCount, Option<u64>);
seed_from_visitor!(ContactSeed, ContactVisitor, Option<Contact>);

/// `attributes`, read with or without the limit on its entries.
struct AttributesSeed(bool);

impl<'de> DeserializeSeed<'de> for AttributesSeed {
    type Value = BTreeMap<String, AttrValue>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(AttributesVisitor(self.0))
    }
}

/// What an error says of a field given twice in one object.
/// (JSON parsers disagree on which of the two counts, so Brim takes neither.)
const TWICE: &str = "given twice in one lead; give each field once";

/// The known fields of one JSON object seen so far, as bits of `names`' positions: a field
/// given twice is an error, never "the last one wins". (Unknown fields are ignored, however
/// often they come.)
struct Seen(u16);

impl Seen {
    fn check<E: de::Error>(&mut self, names: &[&str], prefix: &str, key: &str) -> Result<(), E> {
        let Some(i) = names.iter().position(|n| *n == key) else {
            return Ok(());
        };
        if self.0 & (1 << i) != 0 {
            return Err(E::custom(format!("{prefix}{key}: {TWICE}")));
        }
        self.0 |= 1 << i;
        Ok(())
    }
}

/// The fields of a lead object.
const LEAD_FIELDS: [&str; 14] = [
    "company_name",
    "id",
    "employee_count",
    "industry",
    "funding_stage",
    "tech_stack",
    "recent_job_posts",
    "news_mentions",
    "contact",
    "timezone",
    "country",
    "domain",
    "attributes",
    "sources",
];

/// Reads a lead object; `check`: validated (limits included), as every lead that enters
/// Brim is; without: as stored, trusted.
struct LeadVisitor {
    check: bool,
}

impl<'de> Visitor<'de> for LeadVisitor {
    type Value = Lead;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a lead object with at least company_name")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Lead, A::Error> {
        let mut lead = Lead::default();
        let mut name: Option<String> = None;
        let mut seen = Seen(0);
        let check = self.check;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            seen.check(&LEAD_FIELDS, "", &key)?;
            match key.as_ref() {
                "company_name" => name = map.next_value_seed(OptText("company_name"))?,
                "id" => lead.id = map.next_value_seed(IdSeed)?,
                "employee_count" => lead.employee_count = map.next_value_seed(CountSeed)?,
                "industry" => lead.industry = map.next_value_seed(OptText("industry"))?,
                "funding_stage" => {
                    lead.funding_stage = map.next_value_seed(OptText("funding_stage"))?
                }
                "tech_stack" => {
                    lead.tech_stack = map.next_value_seed(TextList("tech_stack", check))?
                }
                "recent_job_posts" => {
                    lead.recent_job_posts =
                        map.next_value_seed(TextList("recent_job_posts", check))?
                }
                "news_mentions" => {
                    lead.news_mentions = map.next_value_seed(TextList("news_mentions", check))?
                }
                "contact" => lead.contact = map.next_value_seed(ContactSeed)?,
                "timezone" => lead.timezone = map.next_value_seed(OptText("timezone"))?,
                "country" => lead.country = map.next_value_seed(OptText("country"))?,
                "domain" => lead.domain = map.next_value_seed(OptText("domain"))?,
                "attributes" => lead.attributes = map.next_value_seed(AttributesSeed(check))?,
                // The npm package scores without provenance (its size budget): ignored there.
                #[cfg(not(target_arch = "wasm32"))]
                "sources" => {
                    lead.sources = map.next_value()?;
                }
                _ => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        match name {
            Some(n) => lead.company_name = n,
            None => return Err(de::Error::custom("company_name: required field is missing")),
        }
        if check {
            lead.validate().map_err(de::Error::custom)?;
        }
        Ok(lead)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _seq: A) -> Result<Lead, A::Error> {
        Err(de::Error::custom(
            "(lead): expected an object with company_name, got a list",
        ))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Lead, E> {
        Err(E::custom(format!(
            "(lead): expected an object with company_name, got {}",
            crate::limits::quote(v)
        )))
    }
}

/// `id` may be a string or a whole number (CRMs export both).
struct IdSeed;

impl<'de> DeserializeSeed<'de> for IdSeed {
    type Value = Option<String>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Null => Ok(None),
            serde_json::Value::String(s) if s.is_empty() => Ok(None),
            serde_json::Value::String(s) => Ok(Some(s)),
            serde_json::Value::Number(n) if n.is_u64() || n.is_i64() => Ok(Some(n.to_string())),
            other => Err(de::Error::custom(format!(
                "id: expected a string or a whole number, got {}",
                crate::limits::clip(&other.to_string())
            ))),
        }
    }
}

impl<'de> Deserialize<'de> for Lead {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(LeadVisitor { check: true })
    }
}

/// A lead read back from storage: the same parser as [`Lead`]'s, without
/// [`Lead::validate`]. What was stored was validated when it entered, under the limits of its
/// day; a lead stored before a limit was lowered still reads (and can still be deleted).
///
/// ```
/// use brim_core::{Lead, UncheckedLead};
/// let long = format!(r#"{{"company_name": "{}"}}"#, "A".repeat(500));
/// assert!(Lead::from_json(&long).is_err());
/// let UncheckedLead(lead) = serde_json::from_str(&long).unwrap();
/// assert_eq!(lead.company_name.len(), 500);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct UncheckedLead(pub Lead);

impl<'de> Deserialize<'de> for UncheckedLead {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(LeadVisitor { check: false })
            .map(UncheckedLead)
    }
}

impl<'de> Deserialize<'de> for Contact {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(d.deserialize_any(ContactVisitor)?.unwrap_or_default())
    }
}

impl<'de> Deserialize<'de> for AttrValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Bool(b) => Ok(AttrValue::Bool(b)),
            serde_json::Value::Number(n) => Ok(AttrValue::Number(n.as_f64().unwrap_or(f64::NAN))),
            serde_json::Value::String(s) => Ok(AttrValue::Text(s)),
            _ => Err(de::Error::custom("expected a string, number or bool")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn company_id_matches_the_original_sha1_prefix() {
        // sha1("Acme") = ed099798f237671...; the original keeps 15 hex characters.
        assert_eq!(company_id_for_name("Acme"), "ed099798f237671");
        assert_ne!(company_id_for_name("Acme "), company_id_for_name("Acme"));
        let mut lead = Lead::new("Acme");
        lead.id = Some("crm-42".into());
        assert_eq!(lead.company_id(), "crm-42");
    }

    #[test]
    fn parses_every_field() {
        let lead = Lead::from_json(
            r#"{"id": 7, "company_name": "Acme", "employee_count": "150", "industry": "SaaS",
                "funding_stage": null, "tech_stack": ["Zapier", null, "AWS"],
                "recent_job_posts": null, "news_mentions": ["Acme raises $5M"],
                "contact": {"name": "Ada", "email": "ada@acme.com", "title": "COO"},
                "timezone": "Europe/Berlin", "country": "DE", "domain": "acme.com",
                "attributes": {"plan": "pro", "seats": 12, "trial": true, "x": null},
                "unknown_field": [1, 2]}"#,
        )
        .unwrap();
        assert_eq!(lead.id.as_deref(), Some("7"));
        assert_eq!(lead.employee_count, Some(150));
        assert_eq!(lead.tech_stack, vec!["Zapier", "AWS"]);
        assert!(lead.recent_job_posts.is_empty());
        assert_eq!(
            lead.contact.as_ref().unwrap().email.as_deref(),
            Some("ada@acme.com")
        );
        assert_eq!(lead.attributes["seats"], AttrValue::Number(12.0));
        assert_eq!(lead.attributes["trial"], AttrValue::Bool(true));
        assert!(!lead.attributes.contains_key("x"));
    }

    #[test]
    fn errors_name_the_field_and_what_was_expected() {
        let cases = [
            (
                r#"{"company_name": "A", "employee_count": "abc"}"#,
                "employee_count: expected a whole number >= 0, got \"abc\"",
            ),
            (
                r#"{"company_name": "A", "employee_count": -3}"#,
                "employee_count: expected a whole number >= 0, got -3",
            ),
            (
                r#"{"company_name": "A", "employee_count": 1.5}"#,
                "employee_count: expected a whole number >= 0, got 1.5",
            ),
            (
                r#"{"company_name": "A", "industry": 42}"#,
                "industry: expected a string, got 42",
            ),
            (
                r#"{"company_name": "A", "tech_stack": "Zapier"}"#,
                "tech_stack: expected a list of strings, got \"Zapier\"",
            ),
            (
                r#"{"company_name": "A", "tech_stack": ["Zapier", 3]}"#,
                "tech_stack[1]: expected a string, got 3",
            ),
            (
                r#"{"employee_count": 3}"#,
                "company_name: required field is missing",
            ),
            (
                r#"{"company_name": ""}"#,
                "company_name: expected a non-empty string, got \"\"",
            ),
            (
                r#"{"company_name": "A", "contact": {"email": "nope"}}"#,
                "contact.email: expected an e-mail address like name@example.com, got \"nope\"",
            ),
            (
                r#"{"company_name": "A", "timezone": "Berlin time"}"#,
                "timezone: expected an IANA time zone like \"Europe/Berlin\", got \"Berlin time\"",
            ),
            (
                r#"{"company_name": "A", "attributes": {"k": [1]}}"#,
                "attributes.k: expected a string, number or bool, got a list",
            ),
        ];
        for (json, expected) in cases {
            let err = Lead::from_json(json).unwrap_err();
            assert_eq!(err.to_string(), expected, "for {json}");
        }
    }

    #[test]
    fn limits_name_the_field_and_the_limit_and_quote_a_short_prefix() {
        let long = "A".repeat(100_000);
        let cases = [
            (
                serde_json::json!({"company_name": long}),
                "company_name",
                "expected at most 100 characters, got 100000",
            ),
            (
                serde_json::json!({"company_name": "A", "industry": "x".repeat(101)}),
                "industry",
                "expected at most 100 characters, got 101",
            ),
            (
                serde_json::json!({"company_name": "A", "tech_stack": vec!["Zapier"; 1_000_000]}),
                "tech_stack",
                "expected at most 100 items",
            ),
            (
                serde_json::json!({"company_name": "A", "news_mentions": ["n".repeat(301)]}),
                "news_mentions[0]",
                "expected at most 300 characters, got 301",
            ),
            (
                serde_json::json!({"company_name": "A", "contact": {"email": format!("{}@x.io", "a".repeat(300))}}),
                "contact.email",
                "expected at most 254 characters, got 305",
            ),
            (
                serde_json::json!({"company_name": "A", "attributes": (0..101).map(|i| (format!("k{i}"), serde_json::json!(i))).collect::<serde_json::Map<_, _>>()}),
                "attributes",
                "expected at most 100 entries",
            ),
            (
                serde_json::json!({"company_name": "A", "attributes": {"note": "n".repeat(1001)}}),
                "attributes.note",
                "expected at most 1000 characters, got 1001",
            ),
        ];
        for (json, field, message) in cases {
            let err = Lead::from_json(&json.to_string()).unwrap_err();
            assert_eq!(err.field, field, "{err}");
            assert!(err.message.starts_with(message), "{err}");
            assert!(
                err.to_string().len() < 200,
                "the error quotes a short prefix: {err}"
            );
        }
        // The same limits on a lead built from text (a CSV row, a data frame).
        let mut lead = Lead::new("A".repeat(101));
        assert_eq!(lead.validate().unwrap_err().field, "company_name");
        lead.company_name = "é".repeat(100); // characters, not bytes
        assert!(lead.validate().is_ok());
        lead.set_text_field("tech_stack", &vec!["x"; 101].join(";"))
            .unwrap();
        assert_eq!(
            lead.validate().unwrap_err().to_string(),
            "tech_stack: expected at most 100 items"
        );
        // A number too long to print is cut short.
        let err = Lead::from_json(r#"{"company_name": "A", "employee_count": 1e308}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "employee_count: expected a whole number >= 0, got 1{}…",
                "0".repeat(31)
            )
        );
        let err = Lead::from_json(&format!(
            r#"{{"company_name": "A", "industry": {}}}"#,
            "9".repeat(309)
        ))
        .unwrap_err();
        assert!(err.to_string().len() < 80, "{err}");
    }

    #[test]
    fn a_field_given_twice_is_refused() {
        for (json, field) in [
            (
                r#"{"company_name": "A", "company_name": "B"}"#,
                "company_name",
            ),
            (
                r#"{"company_name": "A", "industry": "x", "industry": null}"#,
                "industry",
            ),
            (
                r#"{"company_name": "A", "contact": {"email": "a@b.io", "email": "c@d.io"}}"#,
                "contact.email",
            ),
            (
                r#"{"company_name": "A", "attributes": {"k": 1, "k": 2}}"#,
                "attributes.k",
            ),
        ] {
            let err = Lead::from_json(json).unwrap_err();
            assert_eq!(err.field, field, "{json}: {err}");
            assert!(err.message.starts_with("given twice in one lead"), "{err}");
        }
    }

    #[test]
    fn stored_leads_read_without_the_limits() {
        let json =
            serde_json::json!({"company_name": "A".repeat(300), "tech_stack": vec!["x"; 200]});
        let UncheckedLead(lead) = serde_json::from_value(json).unwrap();
        assert_eq!(lead.tech_stack.len(), 200);
    }

    #[test]
    fn syntax_errors_keep_their_position() {
        let err = Lead::from_json(r#"{"company_name": "A""#).unwrap_err();
        assert_eq!(err.field, "(json)");
        assert!(err.message.contains("line 1"), "{err}");
    }

    #[test]
    fn byte_order_mark_is_ignored() {
        let lead = Lead::from_json("\u{feff}{\"company_name\": \"A\"}").unwrap();
        assert_eq!(lead.company_name, "A");
    }

    #[test]
    fn text_fields_from_csv_cells() {
        let mut lead = Lead::default();
        assert!(lead.set_text_field("company_name", "Acme").unwrap());
        assert!(lead.set_text_field("employee_count", " 40 ").unwrap());
        assert!(lead.set_text_field("tech_stack", "Zapier; AWS;").unwrap());
        assert!(lead.set_text_field("contact.email", "a@b.io").unwrap());
        assert!(lead.set_text_field("attributes.seats", "12").unwrap());
        assert!(lead.set_text_field("attr.plan", "pro").unwrap());
        assert!(!lead.set_text_field("favourite_colour", "red").unwrap());
        // An empty cell unsets what an earlier one set (a lead can be refilled row after row),
        // but for an attribute.
        assert!(lead.set_text_field("industry", "SaaS").unwrap());
        assert!(lead.set_text_field("industry", " ").unwrap());
        assert_eq!(lead.industry, None);
        assert!(lead.set_text_field("attr.kept", "1").unwrap());
        assert!(lead.set_text_field("attr.kept", "").unwrap());
        assert_eq!(lead.attributes["kept"], AttrValue::Number(1.0));
        assert_eq!(Lead::attribute_key(" attr.kept"), Some("kept"));
        assert_eq!(Lead::attribute_key("industry"), None);
        assert!(lead.set_text_field("funding_stage", "").unwrap());
        assert_eq!(lead.employee_count, Some(40));
        assert_eq!(lead.tech_stack, vec!["Zapier", "AWS"]);
        assert_eq!(lead.funding_stage, None);
        assert_eq!(lead.attributes["seats"], AttrValue::Number(12.0));
        assert_eq!(lead.attributes["plan"], AttrValue::Text("pro".into()));
        let err = lead.set_text_field("employee_count", "lots").unwrap_err();
        assert_eq!(
            err.to_string(),
            "employee_count: expected a whole number >= 0, got \"lots\""
        );
    }

    #[test]
    fn round_trips_through_json() {
        let text = r#"{"company_name":"Acme","employee_count":5,"tech_stack":["A"],"contact":{"email":"x@y.io"},"attributes":{"n":2.5}}"#;
        let lead = Lead::from_json(text).unwrap();
        let again = Lead::from_json(&serde_json::to_string(&lead).unwrap()).unwrap();
        assert_eq!(lead, again);
    }
}
