//! The SMTP transport: `smtp://` with STARTTLS when the server offers it
//! (`?tls=required` insists on it, `?tls=none` never tries), `smtps://` with
//! implicit TLS, optional `user:password@`, and a pool of open connections
//! reused across messages.
//!
//! Plain and STARTTLS connections are opened here, with `TCP_NODELAY`, and
//! driven by lettre's SMTP client. lettre's own transport leaves Nagle's
//! algorithm on, and because it writes the final `.` of a message
//! separately, every message then waits for the server's delayed ACK
//! (40 ms on Linux): about 23 messages per second per connection instead of
//! several hundred. `smtps://` still goes through lettre's transport (and
//! its stall) until a lettre release sets `TCP_NODELAY` itself.

use crate::{MailError, Mailer, RenderedEmail};
use async_trait::async_trait;
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// How a `smtp://` connection uses TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StartTls {
    /// When the server offers STARTTLS.
    Opportunistic,
    /// Always; refuse servers that do not offer it.
    Required,
    /// Never.
    Off,
}

/// A connection kept for reuse, and since when it has been idle.
type Idle = (AsyncSmtpConnection, Instant);

/// The pooled, `TCP_NODELAY` client for `smtp://`.
struct Pooled {
    host: String,
    port: u16,
    starttls: StartTls,
    credentials: Option<Credentials>,
    idle: Mutex<Vec<Idle>>,
    slots: Semaphore,
}

enum Transport {
    Pooled(Box<Pooled>),
    Lettre(AsyncSmtpTransport<Tokio1Executor>),
}

pub struct SmtpMailer {
    transport: Transport,
}

/// Time allowed to connect, and for each command.
const TIMEOUT: Duration = Duration::from_secs(20);
/// A connection idle for longer is closed rather than reused.
const IDLE_LIMIT: Duration = Duration::from_secs(30);

fn temporary(e: impl std::fmt::Display) -> MailError {
    MailError::Temporary(e.to_string())
}

/// A lettre SMTP error as ours: a 5xx reply is permanent, the rest
/// (connection trouble, 4xx, timeouts) temporary.
fn classify(e: lettre::transport::smtp::Error) -> MailError {
    if e.is_permanent() {
        MailError::Permanent(e.to_string())
    } else {
        MailError::Temporary(e.to_string())
    }
}

impl SmtpMailer {
    /// Most connections open to the server at once.
    pub const POOL_SIZE: u32 = 8;

    /// Builds the transport from a URL:
    /// `smtp://[user:pass@]host[:port][?tls=opportunistic|required|none]`
    /// (port 587 unless given) or `smtps://[user:pass@]host[:port]` (port
    /// 465). User and password are percent-decoded.
    pub fn from_url(raw: &str) -> Result<Self, MailError> {
        let bad = |why: String| MailError::Permanent(format!("bad mail URL: {why}"));
        let url = url::Url::parse(raw).map_err(|e| bad(e.to_string()))?;
        let host = url.host_str().filter(|h| !h.is_empty()).ok_or_else(|| bad("no host".into()))?;
        let host = host.trim_matches(['[', ']']).to_string();
        let mut tls = None;
        for (k, v) in url.query_pairs() {
            match (k.as_ref(), v.as_ref()) {
                ("tls", "opportunistic") => tls = Some(StartTls::Opportunistic),
                ("tls", "required") => tls = Some(StartTls::Required),
                ("tls", "none") => tls = Some(StartTls::Off),
                _ => {
                    return Err(bad(format!(
                        "unknown parameter {k}={v}; known: tls=opportunistic|required|none"
                    )));
                }
            }
        }
        let decode = |s: &str| {
            url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        let credentials = match (url.username(), url.password()) {
            ("", None) => None,
            (user, password) => {
                Some(Credentials::new(decode(user), decode(password.unwrap_or(""))))
            }
        };
        let transport = match url.scheme() {
            "smtp" => Transport::Pooled(Box::new(Pooled {
                port: url.port().unwrap_or(587),
                host,
                starttls: tls.unwrap_or(StartTls::Opportunistic),
                credentials,
                idle: Mutex::new(Vec::new()),
                slots: Semaphore::new(Self::POOL_SIZE as usize),
            })),
            "smtps" => {
                if tls.is_some() {
                    return Err(bad("smtps:// is always TLS; drop the tls parameter".into()));
                }
                let params = TlsParameters::new(host.clone()).map_err(|e| bad(e.to_string()))?;
                let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
                    .port(url.port().unwrap_or(465))
                    .tls(lettre::transport::smtp::client::Tls::Wrapper(params))
                    .timeout(Some(TIMEOUT))
                    .pool_config(
                        PoolConfig::new().max_size(Self::POOL_SIZE).idle_timeout(IDLE_LIMIT),
                    );
                if let Some(c) = credentials {
                    builder = builder.credentials(c);
                }
                Transport::Lettre(builder.build())
            }
            other => return Err(bad(format!("scheme {other}; use smtp:// or smtps://"))),
        };
        Ok(Self { transport })
    }
}

impl Pooled {
    fn hello(&self) -> ClientId {
        ClientId::default()
    }

    /// Opens, greets, secures and authenticates a new connection.
    async fn connect(&self) -> Result<AsyncSmtpConnection, MailError> {
        let tcp = tokio::time::timeout(
            TIMEOUT,
            tokio::net::TcpStream::connect((self.host.as_str(), self.port)),
        )
        .await
        .map_err(|_| {
            temporary(format!(
                "Connection error: timed out connecting to {}:{}",
                self.host, self.port
            ))
        })?
        .map_err(|e| temporary(format!("Connection error: {e}")))?;
        tcp.set_nodelay(true).map_err(temporary)?;
        let hello = self.hello();
        let mut conn = AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &hello)
            .await
            .map_err(classify)?;
        let wants_tls = match self.starttls {
            StartTls::Off => false,
            StartTls::Opportunistic => conn.can_starttls(),
            StartTls::Required => true,
        };
        if wants_tls {
            let params = TlsParameters::new(self.host.clone())
                .map_err(|e| MailError::Permanent(e.to_string()))?;
            conn.starttls(params, &hello)
                .await
                .map_err(|e| temporary(format!("tls error: {e}")))?;
        }
        if let Some(credentials) = &self.credentials {
            conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                .await
                .map_err(classify)?;
        }
        Ok(conn)
    }

    /// A reusable idle connection, if one is fresh enough.
    fn take_idle(&self) -> Option<AsyncSmtpConnection> {
        let mut idle = self.idle.lock().ok()?;
        while let Some((conn, since)) = idle.pop() {
            if since.elapsed() < IDLE_LIMIT && !conn.has_broken() {
                return Some(conn);
            }
        }
        None
    }

    async fn send(
        &self,
        envelope: &lettre::address::Envelope,
        bytes: &[u8],
    ) -> Result<String, MailError> {
        let _slot = self.slots.acquire().await.map_err(temporary)?;
        // A reused connection may have been closed by the server meanwhile;
        // on a network error before any reply, try once more on a new one.
        let (mut conn, reused) = match self.take_idle() {
            Some(conn) => (conn, true),
            None => (self.connect().await?, false),
        };
        let result = match tokio::time::timeout(TIMEOUT * 3, conn.send(envelope, bytes)).await {
            Ok(r) => r,
            Err(_) => {
                return Err(temporary("timed out sending the message"));
            }
        };
        let (mut conn, result) = match result {
            Err(e) if reused && !e.is_response() => {
                let mut fresh = self.connect().await?;
                let r = fresh.send(envelope, bytes).await;
                (fresh, r)
            }
            other => (conn, other),
        };
        match result {
            Ok(response) => {
                if !conn.has_broken()
                    && let Ok(mut idle) = self.idle.lock()
                {
                    idle.push((conn, Instant::now()));
                }
                Ok(format!(
                    "{} {}",
                    response.code(),
                    response.message().collect::<Vec<_>>().join(" ")
                ))
            }
            Err(e) => {
                conn.abort().await;
                Err(classify(e))
            }
        }
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, email: &RenderedEmail) -> Result<String, MailError> {
        let message = email.to_message()?;
        match &self.transport {
            Transport::Pooled(pool) => pool.send(message.envelope(), &message.formatted()).await,
            Transport::Lettre(transport) => match transport.send(message).await {
                Ok(response) => Ok(format!(
                    "{} {}",
                    response.code(),
                    response.message().collect::<Vec<_>>().join(" ")
                )),
                Err(e) => Err(classify(e)),
            },
        }
    }
}

/// A plain-language account of a send failure, for operators.
pub fn diagnose(error: &MailError, target: &str) -> String {
    let text = match error {
        MailError::Temporary(t) | MailError::Permanent(t) => t.as_str(),
    };
    let lower = text.to_lowercase();
    // What the client decided before or without the server's word comes
    // first: those are not the server's answers.
    let advice = if lower.contains("no compatible authentication mechanism") {
        format!(
            "the server does not offer authentication (no AUTH in its greeting), but the mail URL carries a user and password. Remove them from INVITD_MAIL_URL, or use the port where {target} offers AUTH (usually 587, after STARTTLS)."
        )
    } else if lower.contains("invalidcontenttype")
        || lower.contains("corrupt message")
        || lower.contains("wrong version number")
    {
        "this port does not speak TLS; try smtp:// (STARTTLS, usually on port 587), or smtps:// on a port with implicit TLS (usually 465).".to_string()
    } else if lower.contains("bad recipient address") {
        "the recipient is not a valid address; invitd refused it before talking to the server."
            .to_string()
    } else if lower.contains("bad sender address") {
        "the sender (INVITD_MAIL_FROM) is not a valid address; invitd refused it before talking to the server.".to_string()
    } else if lower.contains("refused") && !lower.contains("(5") && !lower.contains("(4") {
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
    } else if ["(530)", "(534)", "(535)", "(538)"].iter().any(|c| lower.contains(c))
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
    format!("{advice}\n(detail: {text})")
}
