//! Server configuration. The CLI fills it from flags and `INVITD_*`
//! variables; tests fill it directly.

use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Clone)]
pub struct Config {
    /// Address to listen on; port 0 picks a free port.
    pub bind: SocketAddr,
    /// `sqlite:///path/invitd.db` or `postgres://user:pass@host/db`.
    pub database_url: String,
    /// PostgreSQL: connections in this process's pool.
    pub database_pool_size: u32,
    /// PostgreSQL: longest a statement may run before it is cancelled.
    pub database_statement_timeout: std::time::Duration,
    /// The public base URL that accept links start with, without a trailing
    /// slash: `<public_url>/i/<token>`.
    pub public_url: String,
    /// `file:///path/to/folder`.
    pub mail_url: String,
    /// The sender of invitation emails, display name allowed.
    pub mail_from: String,
    /// Waits between delivery attempts; when they run out the email fails.
    pub mail_retry_schedule: Vec<time::Duration>,
    /// Emails sent at the same time by this process.
    pub mail_concurrency: usize,
    /// How long a worker owns the emails it leased; a process that dies
    /// holding some leaves them to others for this long. Longer than the
    /// slowest send (the SMTP client gives up after 80 s).
    pub mail_lease: time::Duration,
    /// A folder whose template files replace the built-in ones.
    pub templates_dir: Option<PathBuf>,
    /// Webhooks may go to loopback, private and link-local addresses
    /// (for local development and tests; refused by default).
    pub webhook_allow_private_networks: bool,
    /// Waits between webhook attempts; when they run out the delivery fails.
    pub webhook_retry_schedule: Vec<time::Duration>,
    /// An endpoint failing for this long without a success is disabled.
    pub webhook_disable_after: time::Duration,
    /// Time allowed for one webhook request.
    pub webhook_timeout: std::time::Duration,
    /// Deliveries in flight to one endpoint at once (per process).
    pub webhook_concurrency_per_endpoint: usize,
    /// How often the expiry sweep runs.
    pub expiry_sweep_interval: std::time::Duration,
    /// Start the outbox worker (tests turn it off to drive it by hand).
    pub run_worker: bool,
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// Time a client has to send a request's head (request line and
    /// headers), from the connection or from the head's first byte.
    pub http_header_timeout: std::time::Duration,
    /// Time a request has from a complete head to its response, reading
    /// the body included; then it is cancelled and answered 408.
    pub http_request_timeout: std::time::Duration,
    /// A keep-alive connection with no request for this long is closed.
    pub http_idle_timeout: std::time::Duration,
    /// Open connections at most; at the cap, new ones wait to be accepted.
    /// Lowered at start to what the open files limit allows.
    pub http_max_connections: usize,
    /// Unauthenticated requests (the accept page, token endpoints without
    /// a key) per client address per minute, on average; 0 turns it off.
    pub rate_limit_per_minute: u32,
    /// Such requests a client address may make at once.
    pub rate_limit_burst: u32,
    /// Reverse proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

impl Config {
    /// Defaults that work on a laptop: SQLite file and mail folder in the
    /// working directory, `127.0.0.1:8080`.
    pub fn laptop_defaults() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: "sqlite://invitd.db".into(),
            database_pool_size: 16,
            database_statement_timeout: std::time::Duration::from_secs(10),
            public_url: "http://127.0.0.1:8080".into(),
            mail_url: "file://./mail".into(),
            mail_from: "invitd <invitd@localhost.localdomain>".into(),
            templates_dir: None,
            mail_retry_schedule: crate::worker::WorkerConfig::default_backoff(),
            mail_concurrency: 4,
            mail_lease: time::Duration::minutes(2),
            webhook_allow_private_networks: false,
            webhook_retry_schedule: [5, 60, 600, 3600, 6 * 3600, 24 * 3600, 48 * 3600]
                .into_iter()
                .map(time::Duration::seconds)
                .collect(),
            webhook_disable_after: time::Duration::days(5),
            webhook_timeout: std::time::Duration::from_secs(10),
            webhook_concurrency_per_endpoint: 4,
            expiry_sweep_interval: std::time::Duration::from_secs(60),
            run_worker: true,
            max_body_bytes: 1024 * 1024,
            http_header_timeout: std::time::Duration::from_secs(10),
            http_request_timeout: std::time::Duration::from_secs(30),
            http_idle_timeout: std::time::Duration::from_secs(75),
            http_max_connections: 10_000,
            rate_limit_per_minute: 60,
            rate_limit_burst: 60,
            trusted_proxies: Vec::new(),
        }
    }
}

impl std::fmt::Debug for Config {
    // Database and mail URLs may carry passwords.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("bind", &self.bind)
            .field("database_pool_size", &self.database_pool_size)
            .field(
                "database_statement_timeout",
                &self.database_statement_timeout,
            )
            .field(
                "database_url",
                &invitd_store::redact_url(&self.database_url),
            )
            .field("public_url", &self.public_url)
            .field("mail_url", &invitd_store::redact_url(&self.mail_url))
            .field("mail_from", &self.mail_from)
            .field("templates_dir", &self.templates_dir)
            .field("mail_retry_schedule", &self.mail_retry_schedule)
            .field("mail_concurrency", &self.mail_concurrency)
            .field("mail_lease", &self.mail_lease)
            .field(
                "webhook_allow_private_networks",
                &self.webhook_allow_private_networks,
            )
            .field("webhook_retry_schedule", &self.webhook_retry_schedule)
            .field("webhook_disable_after", &self.webhook_disable_after)
            .field("expiry_sweep_interval", &self.expiry_sweep_interval)
            .field("run_worker", &self.run_worker)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("http_header_timeout", &self.http_header_timeout)
            .field("http_request_timeout", &self.http_request_timeout)
            .field("http_idle_timeout", &self.http_idle_timeout)
            .field("http_max_connections", &self.http_max_connections)
            .field("rate_limit_per_minute", &self.rate_limit_per_minute)
            .field("rate_limit_burst", &self.rate_limit_burst)
            .field("trusted_proxies", &self.trusted_proxies)
            .finish()
    }
}

/// Parses a retry schedule such as `30s,2m,10m,1h,6h` (units s, m, h, d).
pub fn parse_schedule(s: &str) -> Result<Vec<time::Duration>, String> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (num, unit) = p.split_at(p.find(|c: char| !c.is_ascii_digit()).unwrap_or(p.len()));
            let n: i64 = num
                .parse()
                .map_err(|_| format!("{p:?} is not a duration like 30s, 2m, 1h"))?;
            Ok(match unit {
                "s" | "" => time::Duration::seconds(n),
                "m" => time::Duration::minutes(n),
                "h" => time::Duration::hours(n),
                "d" => time::Duration::days(n),
                _ => return Err(format!("{p:?}: unknown unit {unit:?}; use s, m, h or d")),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules() {
        assert_eq!(
            parse_schedule("30s, 2m,1h,1d").unwrap(),
            vec![
                time::Duration::seconds(30),
                time::Duration::minutes(2),
                time::Duration::hours(1),
                time::Duration::days(1)
            ]
        );
        assert!(parse_schedule("").unwrap().is_empty());
        assert!(parse_schedule("5y").is_err());
        assert!(parse_schedule("x").is_err());
    }
}
