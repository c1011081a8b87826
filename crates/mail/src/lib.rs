//! Email for invitd: the [`Mailer`] trait with its transports, and the
//! templates that turn an outbox payload into a message.

mod file;
mod render;
mod smtp;

pub use file::FileMailer;
pub use render::{
    InvitationEmail, LANGUAGES, Templates, escape_html, format_expiry, pick_language, translate,
};
pub use smtp::{SmtpMailer, diagnose};

use async_trait::async_trait;
use invitd_core::Hidden;

/// A message ready to send. The bodies carry the accept link, so `Debug`
/// shows them as `***`.
#[derive(Clone, PartialEq, Debug)]
pub struct RenderedEmail {
    /// Stable per outbox row (`<outbox-17.…@host>`), so a retried message
    /// can be recognized as the same one.
    pub message_id: String,
    /// The `From` header: the installation's sender.
    pub from: String,
    /// The invitee's address, as given.
    pub to: String,
    /// In the email's language, with the tenant's name.
    pub subject: String,
    /// The plain text part.
    pub text: Hidden<String>,
    /// The HTML part.
    pub html: Hidden<String>,
}

impl RenderedEmail {
    /// The message as RFC 5322 bytes: multipart/alternative with a plain
    /// text and an HTML part.
    pub fn to_rfc5322(&self) -> Result<Vec<u8>, MailError> {
        Ok(self.to_message()?.formatted())
    }

    /// The message, built.
    pub fn to_message(&self) -> Result<lettre::Message, MailError> {
        use lettre::message::{Mailbox, MultiPart};
        let from: Mailbox = self
            .from
            .parse()
            .map_err(|e| MailError::Permanent(format!("bad sender address: {e}")))?;
        let to: Mailbox = self
            .to
            .parse()
            .map_err(|e| MailError::Permanent(format!("bad recipient address: {e}")))?;
        let message = lettre::Message::builder()
            .from(from)
            .to(to)
            .subject(one_line(&self.subject))
            .message_id(Some(self.message_id.clone()))
            .multipart(MultiPart::alternative_plain_html(self.text.0.clone(), self.html.0.clone()))
            .map_err(|e| MailError::Permanent(format!("cannot build message: {e}")))?;
        Ok(message)
    }
}

/// Collapses line breaks and control characters so user text in a header
/// cannot start a new header.
pub fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Why a send failed, and whether trying again may help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    #[error("temporary failure: {0}")]
    Temporary(String),
    #[error("permanent failure: {0}")]
    Permanent(String),
}

/// A mail transport.
#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    /// Sends one message; on success, the server's reply (for the record of
    /// attempts).
    async fn send(&self, email: &RenderedEmail) -> Result<String, MailError>;
}

/// Builds the transport named by a mail URL: `file:///path/to/folder`,
/// `smtp://…` or `smtps://…` (see [`SmtpMailer::from_url`]).
pub fn from_url(url: &str) -> Result<std::sync::Arc<dyn Mailer>, MailError> {
    if url.starts_with("smtp://") || url.starts_with("smtps://") {
        return Ok(std::sync::Arc::new(SmtpMailer::from_url(url)?));
    }
    if let Some(path) = url.strip_prefix("file://") {
        if path.is_empty() {
            return Err(MailError::Permanent("file:// URL needs a folder path".into()));
        }
        return Ok(std::sync::Arc::new(FileMailer::new(path)));
    }
    Err(MailError::Permanent(
        "unsupported mail URL; use file:///path/to/folder, smtp://host:port or smtps://host:port"
            .into(),
    ))
}
