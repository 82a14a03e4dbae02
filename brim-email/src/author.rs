//! The writer every lead goes through: the LLM when one is configured, the templates otherwise
//! and whenever the LLM fails — so every lead gets an e-mail, and the log says who wrote it.

use brim_store::Writer;

use crate::draft::{Draft, parse_reply};
use crate::llm::{LlmClient, build_prompt};
use crate::template::{Sender, TemplateWriter, WriteRequest};

/// An e-mail and how it came to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The e-mail.
    pub draft: Draft,
    /// Who wrote it.
    pub writer: Writer,
    /// The template used, when a template wrote it.
    pub template: Option<String>,
    /// Why the LLM's e-mail was not used, when an LLM is configured and a template wrote it.
    pub fallback_reason: Option<String>,
    /// LLM replies received (0, 1 or 2: an invalid reply is retried once).
    pub llm_replies: u32,
}

/// Writes e-mails: the LLM first (if any), the templates as the fallback.
#[derive(Debug)]
pub struct Author {
    llm: Option<LlmClient>,
    templates: TemplateWriter,
    sender: Sender,
}

impl Author {
    /// An author; `llm: None` writes every e-mail from the templates.
    pub fn new(llm: Option<LlmClient>, templates: TemplateWriter, sender: Sender) -> Author {
        Author {
            llm,
            templates,
            sender,
        }
    }

    /// The LLM client, if one is configured.
    pub fn llm(&self) -> Option<&LlmClient> {
        self.llm.as_ref()
    }

    /// Writes the e-mail for `req`. Never fails: an LLM error (after its retries) or a reply
    /// that fails validation twice falls back to the templates, with the reason.
    pub async fn write(&self, req: &WriteRequest<'_>) -> Written {
        let Some(llm) = &self.llm else {
            return self.by_template(req, None, 0);
        };
        let prompt = build_prompt(req, &self.sender);
        let variant = req.variant.variant.as_str();
        let mut replies = 0;
        let mut last_problem = String::new();
        for _ in 0..2 {
            match llm.complete(&prompt, variant).await {
                Ok(text) => {
                    replies += 1;
                    match parse_reply(&text, variant) {
                        Ok(draft) => {
                            return Written {
                                draft,
                                writer: Writer::Llm,
                                template: None,
                                fallback_reason: None,
                                llm_replies: replies,
                            };
                        }
                        Err(invalid) => {
                            tracing::debug!(company = %req.report.company_id, %invalid, "LLM reply rejected");
                            last_problem = format!("invalid reply ({invalid})");
                        }
                    }
                }
                Err(error) => {
                    last_problem = error.to_string();
                    break;
                }
            }
        }
        let reason = format!("{}: {last_problem}", llm.label());
        tracing::info!(company = %req.report.company_id, %reason, "LLM failed; the template writes this e-mail");
        self.by_template(req, Some(reason), replies)
    }

    fn by_template(
        &self,
        req: &WriteRequest<'_>,
        fallback_reason: Option<String>,
        llm_replies: u32,
    ) -> Written {
        let rendered = self.templates.write(req);
        Written {
            draft: rendered.draft,
            writer: Writer::Template,
            template: Some(rendered.template),
            fallback_reason,
            llm_replies,
        }
    }
}
