//! The template writer: per-industry × per-variant templates, rendered with minijinja.
//!
//! A template is a text file whose first line is `Subject: ...`, then a blank line, then the
//! body. It is looked up by the lead's industry (lower-cased, letters and digits only: "SaaS"
//! → `saas`, "E-commerce" → `ecommerce`) and the variant, in this order:
//! `{industry}/{variant}.txt`, `{variant}.txt`, `{industry}/default.txt`, `default.txt`.
//! Users can supply a folder of their own templates with the same layout; theirs win, the
//! built-in ones fill the gaps. Lead text is passed as values, never as template source, and the
//! HTML part is escaped, so a lead cannot inject markup or template code.

use std::path::Path;

use brim_core::{Lead, ScoreReport, VariantChoice};
use minijinja::Environment;
use serde::Serialize;

use crate::draft::{Draft, validated};
use crate::{Error, Result};

/// The built-in templates, by name.
pub const BUILTIN_TEMPLATES: &[(&str, &str)] = &[
    ("default.txt", include_str!("../templates/default.txt")),
    (
        "problem_focused.txt",
        include_str!("../templates/problem_focused.txt"),
    ),
    (
        "roi_focused.txt",
        include_str!("../templates/roi_focused.txt"),
    ),
    (
        "saas/problem_focused.txt",
        include_str!("../templates/saas/problem_focused.txt"),
    ),
    (
        "saas/roi_focused.txt",
        include_str!("../templates/saas/roi_focused.txt"),
    ),
    (
        "fintech/problem_focused.txt",
        include_str!("../templates/fintech/problem_focused.txt"),
    ),
    (
        "fintech/roi_focused.txt",
        include_str!("../templates/fintech/roi_focused.txt"),
    ),
    (
        "ecommerce/problem_focused.txt",
        include_str!("../templates/ecommerce/problem_focused.txt"),
    ),
    (
        "ecommerce/roi_focused.txt",
        include_str!("../templates/ecommerce/roi_focused.txt"),
    ),
    (
        "logistics/problem_focused.txt",
        include_str!("../templates/logistics/problem_focused.txt"),
    ),
    (
        "logistics/roi_focused.txt",
        include_str!("../templates/logistics/roi_focused.txt"),
    ),
];

/// Who the e-mails are from and what they offer; templates and prompts read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sender {
    /// The person signing, e.g. "Sam from Brim".
    pub name: String,
    /// The company sending.
    pub company: String,
    /// What the product does, as a verb phrase: "helps teams {product}".
    pub product: String,
    /// A link to book a call, if any.
    pub cta_url: Option<String>,
}

impl Default for Sender {
    fn default() -> Self {
        Sender {
            name: "The Brim team".into(),
            company: "Brim".into(),
            product: "automate the busywork between their tools".into(),
            cta_url: None,
        }
    }
}

/// What a writer is asked to write.
#[derive(Debug, Clone, Copy)]
pub struct WriteRequest<'a> {
    /// The lead (untrusted text).
    pub lead: &'a Lead,
    /// Its score and explanation.
    pub report: &'a ScoreReport,
    /// The chosen variant.
    pub variant: &'a VariantChoice,
}

/// The values a template sees.
#[derive(Serialize)]
struct Context<'a> {
    company_name: &'a str,
    first_name: &'a str,
    contact_name: Option<&'a str>,
    contact_title: Option<&'a str>,
    industry: Option<&'a str>,
    employee_count: Option<u64>,
    funding_stage: Option<&'a str>,
    tech_stack: &'a [String],
    job_post: Option<&'a str>,
    automation_tool: Option<&'a str>,
    news: Option<&'a str>,
    score: u8,
    fit_score: u8,
    intent_score: u8,
    action: &'a str,
    reason: Option<String>,
    variant: &'a str,
    variant_reason: &'a str,
    sender_name: &'a str,
    sender_company: &'a str,
    product: &'a str,
    cta_url: Option<&'a str>,
}

/// The industry as a template folder name: lower-case ASCII letters and digits only.
pub fn industry_slug(industry: &str) -> String {
    industry
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn context<'a>(req: &WriteRequest<'a>, sender: &'a Sender) -> Context<'a> {
    let lead = req.lead;
    let contact = lead.contact.as_ref();
    let contact_name = contact.and_then(|c| c.name.as_deref()).map(str::trim);
    let first_name = contact_name
        .and_then(|n| n.split_whitespace().next())
        .unwrap_or("there");
    let keywords = ["operations", "automation", "process", "ops"];
    let job_post = lead
        .recent_job_posts
        .iter()
        .find(|p| {
            let p = p.to_lowercase();
            keywords.iter().any(|k| p.contains(k))
        })
        .or(lead.recent_job_posts.first())
        .map(|s| s.trim());
    let automation_tool = lead
        .tech_stack
        .iter()
        .find(|t| {
            ["zapier", "make", "n8n", "workato", "tray.io"]
                .iter()
                .any(|k| t.trim().eq_ignore_ascii_case(k))
        })
        .map(|s| s.trim());
    Context {
        company_name: lead.company_name.trim(),
        first_name,
        contact_name,
        contact_title: contact.and_then(|c| c.title.as_deref()),
        industry: lead.industry.as_deref().map(str::trim),
        employee_count: lead.employee_count,
        funding_stage: lead.funding_stage.as_deref().map(str::trim),
        tech_stack: &lead.tech_stack,
        job_post,
        automation_tool,
        news: lead.news_mentions.first().map(|s| s.trim()),
        score: req.report.total_score,
        fit_score: req.report.fit_score,
        intent_score: req.report.intent_score,
        action: req.report.action.as_str(),
        reason: req.report.reasoning.positive.first().map(|r| {
            let mut r = r.trim().trim_end_matches('.').to_string();
            if let Some(first) = r.get(..1) {
                r.replace_range(..1, &first.to_lowercase());
            }
            r
        }),
        variant: &req.variant.variant,
        variant_reason: &req.variant.reason,
        sender_name: &sender.name,
        sender_company: &sender.company,
        product: &sender.product,
        cta_url: sender.cta_url.as_deref(),
    }
}

/// Renders templates; never fails to produce an e-mail (a broken user template falls back to
/// the built-in ones, and those are tested).
#[derive(Debug)]
pub struct TemplateWriter {
    env: Environment<'static>,
    builtin: Environment<'static>,
    sender: Sender,
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_keep_trailing_newline(true);
    env
}

fn builtin_environment() -> Environment<'static> {
    let mut env = environment();
    for (name, source) in BUILTIN_TEMPLATES {
        env.add_template(name, source)
            .expect("built-in templates compile (tested)");
    }
    env
}

/// A rendered template and which file it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The e-mail.
    pub draft: Draft,
    /// The template's name, e.g. `saas/roi_focused.txt`.
    pub template: String,
}

impl TemplateWriter {
    /// The built-in templates.
    pub fn new(sender: Sender) -> TemplateWriter {
        TemplateWriter {
            env: builtin_environment(),
            builtin: builtin_environment(),
            sender,
        }
    }

    /// The built-in templates overridden and extended by the `*.txt` files in `folder` (and its
    /// industry sub-folders). Every file is compiled and test-rendered now: an error names the
    /// file and the line.
    pub fn with_folder(sender: Sender, folder: &Path) -> Result<TemplateWriter> {
        let mut env = builtin_environment();
        let io = |path: &Path, source| Error::Io {
            path: path.display().to_string(),
            source,
        };
        let mut files = Vec::new();
        for entry in std::fs::read_dir(folder).map_err(|e| io(folder, e))? {
            let path = entry.map_err(|e| io(folder, e))?.path();
            if path.is_dir() {
                for inner in std::fs::read_dir(&path).map_err(|e| io(&path, e))? {
                    let inner = inner.map_err(|e| io(&path, e))?.path();
                    if inner.extension().is_some_and(|e| e == "txt") {
                        files.push(inner);
                    }
                }
            } else if path.extension().is_some_and(|e| e == "txt") {
                files.push(path);
            }
        }
        files.sort();
        if files.is_empty() {
            return Err(Error::config(
                folder.display().to_string(),
                "no *.txt templates in this folder (expected e.g. roi_focused.txt or saas/roi_focused.txt)",
            ));
        }
        for path in files {
            let name = path
                .strip_prefix(folder)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            let source = std::fs::read_to_string(&path).map_err(|e| io(&path, e))?;
            if !source.trim_start().starts_with("Subject:") {
                return Err(Error::Template {
                    name,
                    message: "line 1: expected \"Subject: ...\", then a blank line, then the body"
                        .into(),
                });
            }
            env.add_template_owned(name.clone(), source)
                .map_err(|e| Error::Template {
                    name: name.clone(),
                    message: describe(&e),
                })?;
        }
        let writer = TemplateWriter {
            env,
            builtin: builtin_environment(),
            sender,
        };
        writer.check_renders()?;
        Ok(writer)
    }

    /// Renders every template once with a sample lead, so a broken one is found at start-up.
    fn check_renders(&self) -> Result<()> {
        let lead = Lead::from_json(
            r#"{"company_name": "Sample Co", "employee_count": 120, "industry": "SaaS",
                "funding_stage": "Series B", "tech_stack": ["Zapier"],
                "recent_job_posts": ["Head of Operations"], "news_mentions": ["Sample Co raises $10M"],
                "contact": {"name": "Sam Sample", "email": "sam@sample.example"}}"#,
        )
        .expect("the sample lead parses");
        let report = brim_core::Scorer::preset("balanced")
            .expect("the balanced preset loads")
            .report(&lead);
        // Collect the names first: minijinja holds its template map while iterating.
        let names: Vec<String> = self.env.templates().map(|(n, _)| n.to_string()).collect();
        for name in &names {
            let variant = VariantChoice {
                variant: name
                    .rsplit('/')
                    .next()
                    .unwrap_or(name.as_str())
                    .trim_end_matches(".txt")
                    .to_string(),
                reason: "check".into(),
            };
            let req = WriteRequest {
                lead: &lead,
                report: &report,
                variant: &variant,
            };
            render_with(
                &self.env,
                name,
                &context(&req, &self.sender),
                &variant.variant,
            )
            .map_err(|message| Error::Template {
                name: name.clone(),
                message,
            })?;
        }
        Ok(())
    }

    /// Writes the e-mail for `req`.
    pub fn write(&self, req: &WriteRequest<'_>) -> Rendered {
        let ctx = context(req, &self.sender);
        let variant = req.variant.variant.as_str();
        let names = candidates(req.lead.industry.as_deref(), variant);
        for env in [&self.env, &self.builtin] {
            for name in &names {
                if env.get_template(name).is_err() {
                    continue;
                }
                match render_with(env, name, &ctx, variant) {
                    Ok(draft) => {
                        return Rendered {
                            draft,
                            template: name.clone(),
                        };
                    }
                    Err(message) => {
                        tracing::warn!(template = %name, %message, "template failed; trying the next one");
                    }
                }
            }
        }
        // Unreachable with the tested built-ins; still, never leave a lead without an e-mail.
        let subject = format!("A question for {}", ctx.company_name);
        let body = format!(
            "Hi {},\n\n{} helps teams {}. Would a short call be useful?\n\nBest,\n{}",
            ctx.first_name, self.sender.company, self.sender.product, self.sender.name
        );
        Rendered {
            draft: validated(variant, &subject, &body).unwrap_or_else(|_| Draft {
                variant: variant.into(),
                subject: "A question".into(),
                body_text: body.clone(),
                body_html: crate::draft::text_to_html(&body),
            }),
            template: "(built in)".into(),
        }
    }
}

fn candidates(industry: Option<&str>, variant: &str) -> Vec<String> {
    let slug = industry.map(industry_slug).filter(|s| !s.is_empty());
    let mut names = Vec::with_capacity(4);
    if let Some(slug) = &slug {
        names.push(format!("{slug}/{variant}.txt"));
    }
    names.push(format!("{variant}.txt"));
    if let Some(slug) = &slug {
        names.push(format!("{slug}/default.txt"));
    }
    names.push("default.txt".into());
    names
}

fn describe(e: &minijinja::Error) -> String {
    match e.line() {
        Some(line) => format!("line {line}: {}", e.detail().unwrap_or(&e.to_string())),
        None => e.to_string(),
    }
}

fn render_with(
    env: &Environment<'static>,
    name: &str,
    ctx: &Context<'_>,
    variant: &str,
) -> std::result::Result<Draft, String> {
    let template = env.get_template(name).map_err(|e| describe(&e))?;
    let text = template.render(ctx).map_err(|e| describe(&e))?;
    let text = text.trim_start();
    let (first, body) = text
        .split_once('\n')
        .ok_or("expected \"Subject: ...\", a blank line, then the body")?;
    let subject = first
        .strip_prefix("Subject:")
        .ok_or("line 1: expected \"Subject: ...\"")?;
    validated(variant, subject, body).map_err(|(field, message)| format!("{field}: {message}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use brim_core::{Scorer, VariantPolicy};

    fn write(writer: &TemplateWriter, json: &str) -> Rendered {
        let lead = Lead::from_json(json).unwrap();
        let report = Scorer::preset("balanced").unwrap().report(&lead);
        let variant = VariantPolicy::default().choose(&lead, report.total_score);
        writer.write(&WriteRequest {
            lead: &lead,
            report: &report,
            variant: &variant,
        })
    }

    #[test]
    fn every_builtin_renders_for_every_industry_and_variant() {
        let writer = TemplateWriter::new(Sender::default());
        writer.check_renders().unwrap();
        for industry in ["SaaS", "Fintech", "E-commerce", "Logistics", "Biotech", ""] {
            for posts in ["[\"Head of Operations\"]", "[]"] {
                let r = write(
                    &writer,
                    &format!(
                        r#"{{"company_name":"Acme","industry":"{industry}","recent_job_posts":{posts}}}"#
                    ),
                );
                assert!(r.draft.subject.contains("Acme"), "{r:?}");
                assert!(r.draft.body_text.starts_with("Hi there,"), "{r:?}");
                assert!(!r.draft.body_text.contains("{{"), "{r:?}");
            }
        }
        let r = write(
            &writer,
            r#"{"company_name":"Lumen Pay","industry":"FinTech","employee_count":300,"contact":{"name":"Jonas Weber"}}"#,
        );
        assert_eq!(r.template, "fintech/roi_focused.txt");
        assert!(r.draft.body_text.starts_with("Hi Jonas,"));
    }

    #[test]
    fn lead_text_cannot_inject_markup_or_template_code() {
        let writer = TemplateWriter::new(Sender::default());
        let r = write(
            &writer,
            r#"{"company_name":"<b>{{ sender_name }}</b>","employee_count":500,"news_mentions":["{% raw %}x"]}"#,
        );
        assert!(r.draft.body_text.contains("<b>{{ sender_name }}</b>"));
        assert!(
            r.draft
                .body_html
                .contains("&lt;b&gt;{{ sender_name }}&lt;/b&gt;")
        );
        assert!(!r.draft.body_html.contains("<b>"));
    }

    #[test]
    fn user_folders_override_and_errors_name_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("saas")).unwrap();
        std::fs::write(
            dir.path().join("saas/roi_focused.txt"),
            "Subject: Custom for {{ company_name }}\n\nHello {{ first_name }}.\n",
        )
        .unwrap();
        let writer = TemplateWriter::with_folder(Sender::default(), dir.path()).unwrap();
        let r = write(
            &writer,
            r#"{"company_name":"Acme","industry":"SaaS","employee_count":100}"#,
        );
        assert_eq!(r.draft.subject, "Custom for Acme");
        assert_eq!(r.template, "saas/roi_focused.txt");
        // A built-in still serves what the folder lacks.
        let r = write(&writer, r#"{"company_name":"Acme","industry":"Fintech"}"#);
        assert_eq!(r.template, "fintech/problem_focused.txt");

        std::fs::write(
            dir.path().join("broken.txt"),
            "Subject: x\n\nline two\n{% if %}\n",
        )
        .unwrap();
        let err = TemplateWriter::with_folder(Sender::default(), dir.path())
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("template broken.txt: line 4:"), "{err}");
        std::fs::write(dir.path().join("broken.txt"), "Hello\n").unwrap();
        let err = TemplateWriter::with_folder(Sender::default(), dir.path())
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 1: expected \"Subject: ...\""), "{err}");
    }
}
