//! From a queue row to an RFC 5322 message: headers, both parts, one-click unsubscribe and
//! (when a tracking URL is set) the open pixel and click-tracked links.

use brim_store::QueuedEmail;
use lettre::Message;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};

use crate::draft::escape_html;
use crate::token::{Signer, TokenKind};
use crate::{Error, Result};

/// Who the e-mails are from and where their links point.
#[derive(Debug, Clone)]
pub struct MessageConfig {
    /// `From:`, e.g. `Sam at Brim <sam@brim.example>`.
    pub from: Mailbox,
    /// `Reply-To:`, if replies should go elsewhere.
    pub reply_to: Option<Mailbox>,
    /// The server's public URL: unsubscribe links are `{public_url}/unsubscribe/{token}`.
    pub public_url: String,
    /// When set, opens and clicks are tracked through `{tracking_url}/t/open/{token}` and
    /// `{tracking_url}/t/click/{token}`.
    pub tracking_url: Option<String>,
}

impl MessageConfig {
    /// A configuration from text settings; errors name the setting.
    pub fn new(from: &str, public_url: &str) -> Result<MessageConfig> {
        let from: Mailbox = from.parse().map_err(|e| {
            Error::config(
                "from",
                format!("expected an address like \"Sam <sam@example.com>\", got {from:?} ({e})"),
            )
        })?;
        Ok(MessageConfig {
            from,
            reply_to: None,
            public_url: check_url("public URL", public_url)?,
            tracking_url: None,
        })
    }

    /// Sets `Reply-To:`.
    pub fn reply_to(mut self, address: &str) -> Result<MessageConfig> {
        self.reply_to = Some(address.parse().map_err(|e| {
            Error::config(
                "reply-to",
                format!("expected an e-mail address, got {address:?} ({e})"),
            )
        })?);
        Ok(self)
    }

    /// Turns on open and click tracking through `url`.
    pub fn tracking(mut self, url: &str) -> Result<MessageConfig> {
        self.tracking_url = Some(check_url("tracking URL", url)?);
        Ok(self)
    }

    /// The domain of the From address (for Message-IDs).
    pub fn domain(&self) -> String {
        self.from.email.domain().to_string()
    }
}

fn check_url(setting: &str, url: &str) -> Result<String> {
    let url = url.trim().trim_end_matches('/');
    if !(url.starts_with("http://") || url.starts_with("https://"))
        || url.contains(char::is_whitespace)
    {
        return Err(Error::config(
            setting,
            format!("expected an http(s):// URL, got {url:?}"),
        ));
    }
    Ok(url.to_string())
}

/// A message that cannot be built: a permanent failure of that e-mail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ComposeError(pub String);

/// Builds messages.
#[derive(Debug, Clone)]
pub struct Composer {
    config: MessageConfig,
    signer: Signer,
}

/// The parts of a message as the recipient will see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The text part, with the unsubscribe footer.
    pub text: String,
    /// The full HTML document, with tracked links and the pixel when tracking is on.
    pub html: String,
    /// The one-click unsubscribe URL.
    pub unsubscribe_url: String,
}

impl Composer {
    /// A composer signing its links with `signer`.
    pub fn new(config: MessageConfig, signer: Signer) -> Composer {
        Composer { config, signer }
    }

    /// The configuration.
    pub fn config(&self) -> &MessageConfig {
        &self.config
    }

    /// The signer (the server verifies tokens with it).
    pub fn signer(&self) -> &Signer {
        &self.signer
    }

    /// The text and HTML the recipient will get (used for sending and for previews).
    pub fn render(&self, email: &QueuedEmail) -> Rendered {
        let unsubscribe_url = format!(
            "{}/unsubscribe/{}",
            self.config.public_url,
            self.signer.sign(TokenKind::Unsubscribe, email.id, None)
        );
        let text = format!(
            "{}\n\n--\nTo stop receiving these e-mails: {unsubscribe_url}\n",
            email.body_text
        );
        let stored_html = email
            .body_html
            .clone()
            .unwrap_or_else(|| crate::draft::text_to_html(&email.body_text));
        let (body, pixel) = match &self.config.tracking_url {
            Some(base) => (
                self.track_links(base, email.id, &stored_html),
                format!(
                    "\n<img src=\"{base}/t/open/{}\" width=\"1\" height=\"1\" alt=\"\" style=\"display:block;border:0\">",
                    self.signer.sign(TokenKind::Open, email.id, None)
                ),
            ),
            None => (stored_html, String::new()),
        };
        let html = format!(
            "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{}</title></head>\n<body>\n{body}\n<p style=\"color:#777;font-size:12px\">To stop receiving these e-mails, <a href=\"{}\">unsubscribe</a>.</p>{pixel}\n</body></html>\n",
            escape_html(&email.subject),
            escape_html(&unsubscribe_url),
        );
        Rendered {
            text,
            html,
            unsubscribe_url,
        }
    }

    /// Rewrites every `href="..."` to a signed click-tracking URL that redirects to it.
    fn track_links(&self, base: &str, email_id: i64, html: &str) -> String {
        let mut out = String::with_capacity(html.len() + 128);
        let mut rest = html;
        while let Some(pos) = rest.find("href=\"") {
            let (before, after) = rest.split_at(pos + "href=\"".len());
            out.push_str(before);
            let Some(end) = after.find('"') else {
                rest = after;
                break;
            };
            let url = after[..end]
                .replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&");
            let token = self.signer.sign(TokenKind::Click, email_id, Some(&url));
            out.push_str(&format!("{base}/t/click/{token}"));
            rest = &after[end..];
        }
        out.push_str(rest);
        out
    }

    /// The message for a queue row: From/Reply-To, To = the contact, the row's stable
    /// Message-ID, subject (any Unicode), text and HTML parts, `List-Unsubscribe` with the signed
    /// one-click URL and `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058).
    pub fn compose(&self, email: &QueuedEmail) -> Result<Message, ComposeError> {
        let address = email
            .recipient
            .as_deref()
            .ok_or_else(|| ComposeError("no recipient address".into()))?;
        let to = Mailbox::new(
            email
                .recipient_name
                .as_deref()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_string),
            address.trim().parse().map_err(|e| {
                ComposeError(format!(
                    "recipient {address:?} is not a valid address ({e})"
                ))
            })?,
        );
        let rendered = self.render(email);
        let mut builder = Message::builder()
            .from(self.config.from.clone())
            .to(to)
            .subject(email.subject.clone())
            .message_id(Some(email.message_id.clone()))
            .raw_header(raw(
                "List-Unsubscribe",
                format!("<{}>", rendered.unsubscribe_url),
            ))
            .raw_header(raw(
                "List-Unsubscribe-Post",
                "List-Unsubscribe=One-Click".to_string(),
            ))
            .raw_header(raw("X-Brim-Variant", email.variant.clone()));
        if let Some(reply_to) = &self.config.reply_to {
            builder = builder.reply_to(reply_to.clone());
        }
        builder
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(rendered.text),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(rendered.html),
                    ),
            )
            .map_err(|e| ComposeError(format!("cannot build the message: {e}")))
    }
}

fn raw(name: &'static str, value: String) -> HeaderValue {
    // Header names here are constant ASCII; values are ASCII (URLs, a variant name).
    HeaderValue::new(HeaderName::new_from_ascii_str(name), value)
}
