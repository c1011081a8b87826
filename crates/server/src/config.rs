//! Server configuration. The CLI fills it from flags and `INVITD_*`
//! variables; tests fill it directly. Every default has one home,
//! [`defaults`]: [`Config::laptop_defaults`] is built from it, and the CLI's
//! flags show and use the same constants.

use std::net::SocketAddr;
use std::path::PathBuf;

/// The default of every setting, in the units its flag takes.
pub mod defaults {
    pub const BIND: &str = "127.0.0.1:8080";
    pub const DATABASE_URL: &str = "sqlite://invitd.db";
    pub const DATABASE_POOL_SIZE: u32 = 16;
    pub const DATABASE_STATEMENT_TIMEOUT_MS: u64 = 10_000;
    pub const MAIL_URL: &str = "file://./mail";
    pub const MAIL_FROM: &str = "invitd <invitd@localhost.localdomain>";
    pub const MAIL_RETRY_SCHEDULE: &str = "30s,2m,10m,1h,6h";
    pub const MAIL_CONCURRENCY: usize = 4;
    pub const MAIL_LEASE_SECONDS: u32 = 120;
    pub const WEBHOOK_RETRY_SCHEDULE: &str = "5s,1m,10m,1h,6h,1d,2d";
    pub const WEBHOOK_DISABLE_AFTER_HOURS: u32 = 120;
    pub const WEBHOOK_TIMEOUT_SECONDS: u64 = 10;
    pub const WEBHOOK_CONCURRENCY_PER_ENDPOINT: usize = 4;
    pub const EXPIRY_SWEEP_SECONDS: u64 = 60;
    pub const MAX_BODY_BYTES: usize = 1024 * 1024;
    pub const HTTP_HEADER_TIMEOUT_SECONDS: u64 = 10;
    pub const HTTP_REQUEST_TIMEOUT_SECONDS: u64 = 30;
    pub const HTTP_IDLE_TIMEOUT_SECONDS: u64 = 75;
    pub const HTTP_MAX_CONNECTIONS: usize = 10_000;
    pub const RATE_LIMIT_PER_MINUTE: u32 = 60;
    pub const RATE_LIMIT_BURST: u32 = 60;
}

#[derive(Clone, Debug)]
pub struct Config {
    /// Address to listen on; port 0 picks a free port.
    pub bind: SocketAddr,
    /// `sqlite:///path/invitd.db` or `postgres://user:pass@host/db`.
    pub database_url: RedactedUrl,
    /// PostgreSQL: connections in this process's pool.
    pub database_pool_size: u32,
    /// PostgreSQL: longest a statement may run before it is cancelled.
    pub database_statement_timeout: std::time::Duration,
    /// The public base URL that accept links start with, without a trailing
    /// slash: `<public_url>/i/<token>`.
    pub public_url: String,
    /// `file:///path/to/folder`.
    pub mail_url: RedactedUrl,
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
    /// Serve `/metrics` on this address only (not on `bind`); none: on
    /// `bind` beside the API.
    pub metrics_bind: Option<SocketAddr>,
    /// When set, `/metrics` asks for `Authorization: Bearer <token>`.
    pub metrics_token: Option<Hidden<String>>,
    /// Count invitations per tenant too (a label per tenant: only for
    /// installations with a bounded number of tenants).
    pub metrics_tenant_label: bool,
    /// The quota of tenants that set none: new invitations per rolling
    /// 24 hours, in all and per inviter; none: unlimited.
    pub default_invitations_per_day: Option<u32>,
    pub default_invitations_per_inviter_per_day: Option<u32>,
}

/// A secret setting (a token): `Debug` shows `***`.
pub use invitd_core::Hidden;

impl Config {
    /// Defaults that work on a laptop: SQLite file and mail folder in the
    /// working directory, `127.0.0.1:8080`.
    pub fn laptop_defaults() -> Self {
        use defaults as d;
        use std::time::Duration;
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: d::DATABASE_URL.into(),
            database_pool_size: d::DATABASE_POOL_SIZE,
            database_statement_timeout: Duration::from_millis(d::DATABASE_STATEMENT_TIMEOUT_MS),
            public_url: format!("http://{}", d::BIND),
            mail_url: d::MAIL_URL.into(),
            mail_from: d::MAIL_FROM.into(),
            templates_dir: None,
            mail_retry_schedule: parse_schedule(d::MAIL_RETRY_SCHEDULE).unwrap_or_default(),
            mail_concurrency: d::MAIL_CONCURRENCY,
            mail_lease: time::Duration::seconds(d::MAIL_LEASE_SECONDS.into()),
            webhook_allow_private_networks: false,
            webhook_retry_schedule: parse_schedule(d::WEBHOOK_RETRY_SCHEDULE).unwrap_or_default(),
            webhook_disable_after: time::Duration::hours(d::WEBHOOK_DISABLE_AFTER_HOURS.into()),
            webhook_timeout: Duration::from_secs(d::WEBHOOK_TIMEOUT_SECONDS),
            webhook_concurrency_per_endpoint: d::WEBHOOK_CONCURRENCY_PER_ENDPOINT,
            expiry_sweep_interval: Duration::from_secs(d::EXPIRY_SWEEP_SECONDS),
            run_worker: true,
            max_body_bytes: d::MAX_BODY_BYTES,
            http_header_timeout: Duration::from_secs(d::HTTP_HEADER_TIMEOUT_SECONDS),
            http_request_timeout: Duration::from_secs(d::HTTP_REQUEST_TIMEOUT_SECONDS),
            http_idle_timeout: Duration::from_secs(d::HTTP_IDLE_TIMEOUT_SECONDS),
            http_max_connections: d::HTTP_MAX_CONNECTIONS,
            rate_limit_per_minute: d::RATE_LIMIT_PER_MINUTE,
            rate_limit_burst: d::RATE_LIMIT_BURST,
            trusted_proxies: Vec::new(),
            metrics_bind: None,
            metrics_token: None,
            metrics_tenant_label: false,
            default_invitations_per_day: None,
            default_invitations_per_inviter_per_day: None,
        }
    }

    /// The store options these settings ask for.
    pub fn store_options(&self) -> invitd_store::OpenOptions {
        invitd_store::OpenOptions {
            pool_size: self.database_pool_size,
            statement_timeout: self.database_statement_timeout,
            ..Default::default()
        }
    }
}

/// A URL that may carry a password (database, mail transport): `Debug`
/// shows it with the password as `***`; everything else reads it as a
/// `&str`.
#[derive(Clone, PartialEq, Eq)]
pub struct RedactedUrl(String);

impl RedactedUrl {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for RedactedUrl {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<String> for RedactedUrl {
    fn from(url: String) -> Self {
        Self(url)
    }
}

impl From<&str> for RedactedUrl {
    fn from(url: &str) -> Self {
        Self(url.to_string())
    }
}

impl std::fmt::Debug for RedactedUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", invitd_store::redact_url(&self.0))
    }
}

/// Parses a retry schedule such as `30s,2m,10m,1h,6h` (units s, m, h, d).
pub fn parse_schedule(s: &str) -> Result<Vec<time::Duration>, String> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (num, unit) = p.split_at(p.find(|c: char| !c.is_ascii_digit()).unwrap_or(p.len()));
            let n: i64 =
                num.parse().map_err(|_| format!("{p:?} is not a duration like 30s, 2m, 1h"))?;
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

    #[test]
    fn the_defaults_parse_and_agree() {
        let c = Config::laptop_defaults();
        assert_eq!(c.mail_retry_schedule, parse_schedule(defaults::MAIL_RETRY_SCHEDULE).unwrap());
        assert_eq!(c.mail_retry_schedule.len(), 5);
        assert_eq!(c.webhook_retry_schedule.len(), 7);
        assert_eq!(c.bind.to_string(), defaults::BIND);
        let store = invitd_store::OpenOptions::default();
        assert_eq!(store.pool_size, defaults::DATABASE_POOL_SIZE);
        assert_eq!(
            store.statement_timeout.as_millis() as u64,
            defaults::DATABASE_STATEMENT_TIMEOUT_MS
        );
    }
}
