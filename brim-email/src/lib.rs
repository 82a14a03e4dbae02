//! Brim's e-mail pipeline.
//!
//! - **Writers**: [`LlmClient`] speaks Gemini (`generateContent`, JSON mode with a schema) and
//!   OpenAI-compatible chat completions (OpenAI, Ollama, vLLM, llama.cpp), with retries,
//!   a bound on calls in flight and a timeout; [`TemplateWriter`] renders per-industry ×
//!   per-variant templates; [`Author`] uses the LLM and falls back to the templates, so every
//!   lead gets an e-mail.
//! - **Mailers**: [`SmtpMailer`] (lettre, pooled; `smtp://`, `smtps://`, STARTTLS) and
//!   [`OutboxMailer`] (an `.eml` file per message; the development default).
//! - **Messages**: [`Composer`] builds each message with its stable Message-ID, both parts,
//!   RFC 8058 one-click unsubscribe and optional open/click tracking, signed by [`Signer`].
//! - **Pipeline and worker**: [`Generator`] scores → chooses a variant → writes → enqueues;
//!   [`Worker`] claims by priority, honours send windows and rate limits, sends, and marks.
//!
//! The walkthrough with a runnable example is docs/email.md.
#![warn(missing_docs)]

mod author;
mod draft;
mod enrich;
mod error;
mod llm;
mod mailer;
mod message;
mod pipeline;
mod preview;
mod template;
mod token;
mod worker;

pub use author::{Author, Written};
pub use draft::{
    Draft, InvalidReply, MAX_BODY_CHARS, MAX_SUBJECT_CHARS, escape_html, parse_reply, text_to_html,
};
pub use enrich::{
    CIRCUIT_COOLDOWN, CIRCUIT_FAILURES, CachedEnricher, EnrichError, Enricher, HttpEnricher,
    LocalGate, Lookup, MAX_ANSWER, MAX_WAIT, RateGate, SharedGate,
};
pub use error::{Error, Result};
pub use llm::{ApiKey, LlmClient, LlmConfig, LlmError, LlmProvider, Prompt, build_prompt};
pub use mailer::{FailureKind, Mailer, OutboxMailer, SendError, SmtpMailer, classify, redact_url};
pub use message::{ComposeError, Composer, MessageConfig, Rendered};
pub use pipeline::{GenerateConfig, GenerateReport, Generator};
pub use preview::{Preview, preview};
pub use template::{BUILTIN_TEMPLATES, Sender, TemplateWriter, WriteRequest, industry_slug};
pub use token::{Claims, InvalidToken, Signer, TokenKind};
pub use worker::{Clock, CycleReport, SystemClock, Worker, WorkerConfig};

/// docs/email.md's Rust example, compiled and run as a doc test.
#[doc = include_str!("../../docs/email.md")]
#[cfg(doctest)]
pub struct EmailDoctests;
