//! A provider described by a file: the request to make for a lead, where the API key comes
//! from, and how the answer's JSON maps to lead fields. Two presets ship with Brim, written
//! from the providers' public documentation: `apollo` (organization enrichment by domain) and
//! `clearbit` (a Clearbit-style company lookup by domain).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::{Found, ProviderRecord, enrichable};
use crate::Lead;

/// The providers shipped with Brim: name and configuration (TOML).
pub const PRESETS: [(&str, &str); 2] = [
    ("apollo", include_str!("providers/apollo.toml")),
    ("clearbit", include_str!("providers/clearbit.toml")),
];

/// A shipped provider's configuration by name.
pub fn preset(name: &str) -> Option<ProviderConfig> {
    PRESETS
        .iter()
        .find(|(n, _)| *n == name)
        .and_then(|(_, text)| ProviderConfig::from_toml(text).ok())
}

/// A provider configuration that cannot be used: every problem, each naming its key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .problems.join("; "))]
pub struct ConfigError {
    /// One sentence per problem.
    pub problems: Vec<String>,
}

/// How one lead field is read from the answer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum FieldMap {
    /// A JSON pointer (`/organization/industry`), below `response.root`.
    Path(String),
    /// A pointer with options.
    Full {
        /// The JSON pointer.
        path: String,
        /// Provider value → lead value (`"series_b" = "Series B"`), compared without case;
        /// values not listed pass as they are.
        #[serde(default)]
        map: BTreeMap<String, String>,
        /// Splits a text value into a list on this separator (`", "`).
        #[serde(default)]
        split: Option<String>,
        /// For a list of objects: the key whose value to take (`name`).
        #[serde(default)]
        item: Option<String>,
    },
}

impl FieldMap {
    fn path(&self) -> &str {
        match self {
            FieldMap::Path(p) | FieldMap::Full { path: p, .. } => p,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestFile {
    #[serde(default = "get")]
    method: String,
    url: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    body: Option<String>,
}

fn get() -> String {
    "GET".into()
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    #[serde(default)]
    env: Option<String>,
    #[serde(default)]
    file: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResponseFile {
    #[serde(default)]
    root: String,
    #[serde(default)]
    id: Option<String>,
    #[serde(default = "not_found")]
    not_found: Vec<u16>,
    #[serde(default)]
    pending: Vec<u16>,
}

fn not_found() -> Vec<u16> {
    vec![404]
}

// By hand: a file without `[response]` must get the same defaults as one with an empty one.
impl Default for ResponseFile {
    fn default() -> Self {
        ResponseFile {
            root: String::new(),
            id: None,
            not_found: not_found(),
            pending: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsFile {
    #[serde(default = "rate")]
    requests_per_second: f64,
    #[serde(default = "timeout")]
    timeout_ms: u64,
    #[serde(default = "retries")]
    retries: u32,
    #[serde(default = "ttl")]
    cache_hours: f64,
}

fn rate() -> f64 {
    5.0
}
fn timeout() -> u64 {
    10_000
}
fn retries() -> u32 {
    3
}
fn ttl() -> f64 {
    24.0
}

impl Default for LimitsFile {
    fn default() -> Self {
        LimitsFile {
            requests_per_second: rate(),
            timeout_ms: timeout(),
            retries: retries(),
            cache_hours: ttl(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    name: String,
    #[serde(default)]
    description: String,
    request: RequestFile,
    #[serde(default)]
    key: KeyFile,
    #[serde(default)]
    response: ResponseFile,
    #[serde(default)]
    limits: LimitsFile,
    fields: BTreeMap<String, FieldMap>,
}

/// A provider: how to ask it about a lead and how to read its answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderConfig {
    /// Its name: provenance and the cache and rate limit are keyed by it.
    pub name: String,
    /// What it is, for people.
    pub description: String,
    /// `GET` or `POST`.
    pub method: String,
    /// The URL, with `{domain}`, `{name}`, `{id}` (the lead's, URL-encoded) and `{key}`.
    pub url: String,
    /// Headers, with the same placeholders (`x-api-key = "{key}"`).
    pub headers: Vec<(String, String)>,
    /// A request body (JSON text, placeholders JSON-escaped), for `POST`.
    pub body: Option<String>,
    /// The environment variable holding the API key.
    pub key_env: Option<String>,
    /// The file holding the API key (read by the adapter; takes precedence over `key_env`).
    pub key_file: Option<String>,
    /// A JSON pointer to the object the fields are read below (`/organization`).
    pub root: String,
    /// A pointer (below `root`) to the provider's id for the company.
    pub id: Option<String>,
    /// Statuses meaning "no such company" (default 404).
    pub not_found: Vec<u16>,
    /// Statuses meaning "looking it up, ask again later" (Clearbit's 202).
    pub pending: Vec<u16>,
    /// At most this many requests per second, shared by every process on one database.
    pub requests_per_second: f64,
    /// Each request's deadline.
    pub timeout_ms: u64,
    /// Retries of a failed request (429, 5xx, a timeout), with backoff honouring `Retry-After`.
    pub retries: u32,
    /// How long an answer is reused (hours).
    pub cache_hours: f64,
    /// Lead field → where its value is, in the file's order (sorted by field name).
    pub fields: Vec<(String, FieldMap)>,
}

/// A request to make, rendered for one lead (the key already in place: never log it whole).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestSpec {
    /// `GET` or `POST`.
    pub method: String,
    /// The URL.
    pub url: String,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// The body, if any.
    pub body: Option<String>,
}

const PLACEHOLDERS: [&str; 4] = ["domain", "name", "id", "key"];

/// The `{word}` placeholders of a template (a brace not followed by a lower-case word and a
/// closing brace, as in a JSON body, is text).
fn placeholders(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'{' {
            let start = i + 1;
            let mut j = start;
            while j < bytes.len() && (bytes[j].is_ascii_lowercase() || bytes[j] == b'_') {
                j += 1;
            }
            if j > start && j < bytes.len() && bytes[j] == b'}' {
                out.push(&text[start..j]);
                i = j + 1;
                continue;
            }
        }
        i += 1;
    }
    out
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl ProviderConfig {
    /// Reads a configuration (TOML), checking everything it can before any request is made:
    /// every problem is listed, each naming its key.
    pub fn from_toml(text: &str) -> Result<ProviderConfig, ConfigError> {
        let file: ConfigFile = toml::from_str(text).map_err(|e| ConfigError {
            problems: vec![e.message().to_string()],
        })?;
        let mut problems = Vec::new();
        let name_ok = !file.name.is_empty()
            && file.name.len() <= 64
            && file
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !name_ok {
            problems.push(format!(
                "name: expected 1 to 64 letters, digits, `_` or `-`, got {}",
                crate::quote(&file.name)
            ));
        }
        let method = file.request.method.to_ascii_uppercase();
        if method != "GET" && method != "POST" {
            problems.push(format!(
                "request.method: expected GET or POST, got {}",
                crate::quote(&file.request.method)
            ));
        }
        if !(file.request.url.starts_with("https://") || file.request.url.starts_with("http://")) {
            problems.push(format!(
                "request.url: expected an http:// or https:// URL, got {}",
                crate::quote(&file.request.url)
            ));
        }
        let mut templates: Vec<(String, &str)> = vec![("request.url".into(), &file.request.url)];
        for (k, v) in &file.request.headers {
            templates.push((format!("request.headers.{k}"), v));
        }
        if let Some(body) = &file.request.body {
            templates.push(("request.body".into(), body));
        }
        let mut uses_key = false;
        let mut uses_lead = false;
        for (at, text) in &templates {
            for p in placeholders(text) {
                if !PLACEHOLDERS.contains(&p) {
                    problems.push(format!(
                        "{at}: unknown placeholder {{{p}}} (known: {{domain}}, {{name}}, {{id}}, {{key}})"
                    ));
                }
                uses_key |= p == "key";
                uses_lead |= PLACEHOLDERS.contains(&p) && p != "key";
            }
        }
        if !uses_lead {
            problems.push(
                "request: nothing names the company; put {domain}, {name} or {id} in the URL or body"
                    .into(),
            );
        }
        if uses_key && file.key.env.is_none() && file.key.file.is_none() {
            problems.push("key: {key} is used, so give key.env or key.file".into());
        }
        if let Some(env) = &file.key.env
            && (env.is_empty() || !env.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        {
            problems.push(format!(
                "key.env: expected an environment variable name, got {}",
                crate::quote(env)
            ));
        }
        let pointer_ok = |p: &str| p.is_empty() || p.starts_with('/');
        if !pointer_ok(&file.response.root) {
            problems.push(format!(
                "response.root: expected a JSON pointer such as /organization, got {}",
                crate::quote(&file.response.root)
            ));
        }
        if let Some(id) = &file.response.id
            && !pointer_ok(id)
        {
            problems.push(format!(
                "response.id: expected a JSON pointer such as /id, got {}",
                crate::quote(id)
            ));
        }
        let l = &file.limits;
        if !(l.requests_per_second.is_finite() && l.requests_per_second > 0.0) {
            problems.push(format!(
                "limits.requests_per_second: expected a number above 0, got {}",
                l.requests_per_second
            ));
        }
        if !(1..=120_000).contains(&l.timeout_ms) {
            problems.push(format!(
                "limits.timeout_ms: expected 1 to 120000, got {}",
                l.timeout_ms
            ));
        }
        if l.retries > 10 {
            problems.push(format!(
                "limits.retries: expected 0 to 10, got {}",
                l.retries
            ));
        }
        if !(l.cache_hours.is_finite() && l.cache_hours >= 0.0) {
            problems.push(format!(
                "limits.cache_hours: expected a number >= 0, got {}",
                l.cache_hours
            ));
        }
        if file.fields.is_empty() {
            problems.push("fields: map at least one lead field to the answer".into());
        }
        for (field, map) in &file.fields {
            if !enrichable(field) {
                problems.push(format!(
                    "fields.{field}: not a field a provider may set (expected one of {}, or attributes.NAME)",
                    super::ENRICHABLE.join(", ")
                ));
            }
            if !pointer_ok(map.path()) {
                problems.push(format!(
                    "fields.{field}: expected a JSON pointer such as /industry, got {}",
                    crate::quote(map.path())
                ));
            }
        }
        if !problems.is_empty() {
            return Err(ConfigError { problems });
        }
        Ok(ProviderConfig {
            name: file.name,
            description: file.description,
            method,
            url: file.request.url,
            headers: file.request.headers.into_iter().collect(),
            body: file.request.body,
            key_env: file.key.env,
            key_file: file.key.file,
            root: file.response.root,
            id: file.response.id,
            not_found: file.response.not_found,
            pending: file.response.pending,
            requests_per_second: l.requests_per_second,
            timeout_ms: l.timeout_ms,
            retries: l.retries,
            cache_hours: l.cache_hours,
            fields: file.fields.into_iter().collect(),
        })
    }

    /// Whether a request uses the API key.
    pub fn uses_key(&self) -> bool {
        self.templates().any(|t| placeholders(t).contains(&"key"))
    }

    fn templates(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.url.as_str())
            .chain(self.headers.iter().map(|(_, v)| v.as_str()))
            .chain(self.body.as_deref())
    }

    /// What the cache keys a lead's answer by: the values the request names it by, lower-cased
    /// (`domain=acme.com`). `None` when the lead lacks one.
    pub fn lookup_key(&self, lead: &Lead) -> Option<String> {
        let mut used: Vec<&str> = self
            .templates()
            .flat_map(placeholders)
            .filter(|p| *p != "key")
            .collect();
        used.sort_unstable();
        used.dedup();
        let mut parts = Vec::new();
        for p in used {
            parts.push(format!("{p}={}", value_of(lead, p)?.to_lowercase()));
        }
        Some(parts.join("&"))
    }

    /// The request for `lead`, with `key` in place; an error names what the lead lacks
    /// (`no domain to look up`).
    pub fn request(&self, lead: &Lead, key: Option<&str>) -> Result<RequestSpec, String> {
        // One pass over the template: a value that looks like a placeholder stays text.
        let fill = |text: &str, escape: fn(&str) -> String| -> Result<String, String> {
            let mut out = String::with_capacity(text.len());
            let mut rest = text;
            for p in placeholders(text) {
                let at = rest.find(&format!("{{{p}}}")).unwrap_or(rest.len());
                out.push_str(&rest[..at]);
                let value = if p == "key" {
                    key.map(str::to_string)
                        .ok_or_else(|| "no API key".to_string())?
                } else {
                    escape(&value_of(lead, p).ok_or_else(|| format!("no {p} to look up"))?)
                };
                out.push_str(&value);
                rest = rest.get(at + p.len() + 2..).unwrap_or("");
            }
            out.push_str(rest);
            Ok(out)
        };
        let json_escape = |s: &str| {
            let quoted = serde_json::to_string(s).unwrap_or_default();
            quoted[1..quoted.len() - 1].to_string()
        };
        Ok(RequestSpec {
            method: self.method.clone(),
            url: fill(&self.url, percent_encode)?,
            headers: self
                .headers
                .iter()
                .map(|(k, v)| Ok((k.clone(), fill(v, |s| s.to_string())?)))
                .collect::<Result<_, String>>()?,
            body: self
                .body
                .as_deref()
                .map(|b| fill(b, json_escape))
                .transpose()?,
        })
    }

    /// Reads the provider's answer (JSON) as a record of lead fields. Values that are absent,
    /// `null` or objects are skipped; the answer itself not being JSON is an error.
    pub fn record(&self, body: &str, fetched_at: i64) -> Result<ProviderRecord, String> {
        let doc: Value = serde_json::from_str(body)
            .map_err(|e| format!("{}: the answer is not JSON: {e}", self.name))?;
        let root = doc.pointer(&self.root).unwrap_or(&Value::Null);
        let provider_id = self
            .id
            .as_deref()
            .and_then(|p| root.pointer(p))
            .and_then(|v| match v {
                Value::String(s) if !s.is_empty() => Some(crate::limits::clip(s)),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            });
        let mut values = Vec::new();
        for (field, map) in &self.fields {
            let Some(value) = root.pointer(map.path()) else {
                continue;
            };
            if let Some(found) = found(field, value, map) {
                values.push((field.clone(), found));
            }
        }
        Ok(ProviderRecord {
            provider: self.name.clone(),
            provider_id,
            fetched_at,
            values,
        })
    }
}

fn value_of(lead: &Lead, placeholder: &str) -> Option<String> {
    let v = match placeholder {
        "domain" => lead.domain.clone(),
        "name" => Some(lead.company_name.clone()),
        "id" => lead.id.clone(),
        _ => None,
    }?;
    let v = v.trim().to_string();
    (!v.is_empty()).then_some(v)
}

fn list_field(field: &str) -> bool {
    matches!(field, "tech_stack" | "recent_job_posts" | "news_mentions")
}

fn found(field: &str, value: &Value, map: &FieldMap) -> Option<Found> {
    let (mapping, split, item) = match map {
        FieldMap::Path(_) => (None, None, None),
        FieldMap::Full {
            map, split, item, ..
        } => (Some(map), split.as_deref(), item.as_deref()),
    };
    let mapped = |text: &str| -> String {
        mapping
            .and_then(|m| {
                m.iter()
                    .find(|(from, _)| from.eq_ignore_ascii_case(text.trim()))
                    .map(|(_, to)| to.clone())
            })
            .unwrap_or_else(|| text.trim().to_string())
    };
    let text_of = |v: &Value| -> Option<String> {
        match v {
            Value::String(s) => Some(mapped(s)),
            Value::Number(n) => Some(mapped(&n.to_string())),
            Value::Bool(b) => Some(b.to_string()),
            Value::Object(o) => item
                .and_then(|k| o.get(k))
                .and_then(|v| v.as_str().map(mapped)),
            _ => None,
        }
    };
    match value {
        Value::Null | Value::Object(_) => None,
        Value::Array(items) => {
            let list: Vec<String> = items
                .iter()
                .filter_map(text_of)
                .filter(|s| !s.is_empty())
                .collect();
            Some(Found::List(list))
        }
        Value::String(s) if list_field(field) => Some(Found::List(match split {
            Some(sep) if !sep.is_empty() => {
                s.split(sep).map(mapped).filter(|s| !s.is_empty()).collect()
            }
            _ => vec![mapped(s)],
        })),
        Value::String(s) => {
            let m = mapped(s);
            // A mapped number ("11-50" → "30") reads as a number.
            match m.parse::<f64>() {
                Ok(n)
                    if field == "employee_count"
                        || mapping.is_some_and(|x| !x.is_empty()) && m != s.trim() =>
                {
                    Some(Found::Number(n))
                }
                _ => Some(Found::Text(m)),
            }
        }
        Value::Number(n) => {
            if mapping.is_some_and(|m| !m.is_empty()) {
                Some(Found::Text(mapped(&n.to_string())))
            } else {
                n.as_f64().map(Found::Number)
            }
        }
        Value::Bool(b) => Some(Found::Flag(*b)),
    }
}
