//! The SMTP transport (lettre): `smtp://` with STARTTLS when the server
//! offers it (`?tls=required` insists on it, `?tls=none` never tries),
//! `smtps://` with implicit TLS, optional `user:password@`, and a pool of
//! connections reused across messages.

use crate::{MailError, Mailer, RenderedEmail};
use async_trait::async_trait;
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::time::Duration;

pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

/// Most connections kept open to the server.
pub const POOL_SIZE: u32 = 8;

impl SmtpMailer {
    /// Builds the transport from a URL:
    /// `smtp://[user:pass@]host[:port][?tls=opportunistic|required|none]`
    /// (port 587 unless given; STARTTLS when offered by default) or
    /// `smtps://[user:pass@]host[:port]` (port 465, implicit TLS).
    pub fn from_url(url: &str) -> Result<Self, MailError> {
        let bad = |why: String| MailError::Permanent(format!("bad mail URL: {why}"));
        let (base, query) = match url.split_once('?') {
            Some((b, q)) => (b, Some(q)),
            None => (url, None),
        };
        let mut tls = None;
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("tls", v @ ("opportunistic" | "required" | "none"))) => tls = Some(v),
                _ => {
                    return Err(bad(format!(
                        "unknown parameter {pair:?}; known: tls=opportunistic|required|none"
                    )));
                }
            }
        }
        let normalized = if base.starts_with("smtp://") {
            match tls.unwrap_or("opportunistic") {
                // lettre's plain smtp:// never tries TLS; keep port 587.
                "none" if !has_port(base) => format!("{base}:587"),
                "none" => base.to_string(),
                mode => format!("{base}?tls={mode}"),
            }
        } else if base.starts_with("smtps://") {
            if tls.is_some() {
                return Err(bad("smtps:// is always TLS; drop the tls parameter".into()));
            }
            base.to_string()
        } else {
            return Err(bad("use smtp:// or smtps://".into()));
        };
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&normalized)
            .map_err(|e| bad(e.to_string()))?
            .timeout(Some(Duration::from_secs(20)))
            .pool_config(
                PoolConfig::new()
                    .max_size(POOL_SIZE)
                    .idle_timeout(Duration::from_secs(60)),
            )
            .build();
        Ok(Self { transport })
    }
}

fn has_port(base: &str) -> bool {
    let host = base.split("://").nth(1).unwrap_or("");
    let host = host
        .rsplit('@')
        .next()
        .unwrap_or(host)
        .trim_end_matches('/');
    host.rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, email: &RenderedEmail) -> Result<String, MailError> {
        let message = email.to_message()?;
        match self.transport.send(message).await {
            Ok(response) => Ok(format!(
                "{} {}",
                response.code(),
                response.message().collect::<Vec<_>>().join(" ")
            )),
            Err(e) if e.is_permanent() => Err(MailError::Permanent(e.to_string())),
            Err(e) => Err(MailError::Temporary(e.to_string())),
        }
    }
}

/// A plain-language account of a send failure, for operators.
pub fn diagnose(error: &MailError, target: &str) -> String {
    let text = match error {
        MailError::Temporary(t) | MailError::Permanent(t) => t.as_str(),
    };
    let lower = text.to_lowercase();
    let advice = if lower.contains("refused") && !lower.contains("(5") && !lower.contains("(4") {
        format!(
            "cannot connect to {target}: nothing accepts connections there. Is the mail server running, and are the host and port right?"
        )
    } else if lower.contains("failed to lookup")
        || lower.contains("resolve")
        || lower.contains("name or service not known")
    {
        format!("cannot resolve the host of {target}. Check the host name in INVITD_MAIL_URL.")
    } else if lower.contains("timed out") || lower.contains("timeout") {
        format!("{target} did not answer in time. Check the host, the port and any firewall.")
    } else if lower.contains("tls") || lower.contains("certificate") || lower.contains("handshake")
    {
        "the TLS handshake failed. The server may not speak TLS on this port (smtps:// needs implicit TLS, usually port 465; smtp:// uses STARTTLS, usually 587), or its certificate is not trusted by this machine.".to_string()
    } else if ["(530)", "(534)", "(535)", "(538)"]
        .iter()
        .any(|c| lower.contains(c))
        || lower.contains("authentication")
        || lower.contains("credentials")
    {
        "the server refused the credentials. Check the user and password in INVITD_MAIL_URL (percent-encode special characters).".to_string()
    } else if lower.contains("sender") || lower.contains("from") || lower.contains("(553)") {
        "the server refused the sender address. Set INVITD_MAIL_FROM to an address this server may send as.".to_string()
    } else if lower.contains("recipient") || lower.contains("(550)") {
        "the server refused the recipient.".to_string()
    } else if matches!(error, MailError::Permanent(_)) {
        "the server refused the message permanently.".to_string()
    } else {
        "a temporary failure; trying again later may work.".to_string()
    };
    format!("{advice}\n(server said: {text})")
}
