//! `invitd serve`: its settings (flags and `INVITD_*` variables, defaults
//! from `config::defaults`), and running the server until SIGINT or SIGTERM.

use invitd_server::config::{Config, defaults};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(clap::Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "INVITD_BIND", default_value = defaults::BIND)]
    bind: SocketAddr,
    /// Public base URL of accept links (`<url>/i/<token>`); defaults to http://<bind>.
    #[arg(long, env = "INVITD_PUBLIC_URL")]
    public_url: Option<String>,
    #[command(flatten)]
    mail: MailArgs,
    /// Waits between delivery attempts, after which an email fails.
    #[arg(
        long,
        env = "INVITD_MAIL_RETRY_SCHEDULE",
        default_value = defaults::MAIL_RETRY_SCHEDULE,
        value_parser = schedule
    )]
    mail_retry_schedule: String,
    /// Emails sent at the same time.
    #[arg(long, env = "INVITD_MAIL_CONCURRENCY", default_value_t = defaults::MAIL_CONCURRENCY)]
    mail_concurrency: usize,
    /// Seconds a process owns the emails it is sending; after a crash,
    /// others take them over when this runs out.
    #[arg(long, env = "INVITD_MAIL_LEASE_SECONDS", default_value_t = defaults::MAIL_LEASE_SECONDS)]
    mail_lease_seconds: u32,
    /// Let webhooks go to loopback, private and link-local addresses
    /// (development and tests only).
    #[arg(long, env = "INVITD_WEBHOOK_ALLOW_PRIVATE_NETWORKS", value_parser = clap::builder::BoolishValueParser::new())]
    webhook_allow_private_networks: bool,
    /// Waits between webhook attempts, after which a delivery fails.
    #[arg(
        long,
        env = "INVITD_WEBHOOK_RETRY_SCHEDULE",
        default_value = defaults::WEBHOOK_RETRY_SCHEDULE,
        value_parser = schedule
    )]
    webhook_retry_schedule: String,
    /// Hours an endpoint may fail without a success before it is disabled.
    #[arg(
        long,
        env = "INVITD_WEBHOOK_DISABLE_AFTER_HOURS",
        default_value_t = defaults::WEBHOOK_DISABLE_AFTER_HOURS
    )]
    webhook_disable_after_hours: u32,
    /// Seconds between expiry sweeps.
    #[arg(long, env = "INVITD_EXPIRY_SWEEP_SECONDS", default_value_t = defaults::EXPIRY_SWEEP_SECONDS)]
    expiry_sweep_seconds: u64,
    /// PostgreSQL: connections in this process's pool.
    #[arg(long, env = "INVITD_DATABASE_POOL_SIZE", default_value_t = defaults::DATABASE_POOL_SIZE)]
    database_pool_size: u32,
    /// PostgreSQL: milliseconds a statement may run before it is cancelled.
    #[arg(
        long,
        env = "INVITD_DATABASE_STATEMENT_TIMEOUT_MS",
        default_value_t = defaults::DATABASE_STATEMENT_TIMEOUT_MS
    )]
    database_statement_timeout_ms: u64,
    /// Folder of template files that replace the built-in ones.
    #[arg(long, env = "INVITD_TEMPLATES_DIR")]
    templates_dir: Option<PathBuf>,
    /// Seconds a client has to send a request's line and headers.
    #[arg(long, env = "INVITD_HTTP_HEADER_TIMEOUT_SECONDS", default_value_t = defaults::HTTP_HEADER_TIMEOUT_SECONDS)]
    http_header_timeout_seconds: u64,
    /// Seconds a request has, reading its body included, before it is
    /// cancelled and answered 408.
    #[arg(
        long,
        env = "INVITD_HTTP_REQUEST_TIMEOUT_SECONDS",
        default_value_t = defaults::HTTP_REQUEST_TIMEOUT_SECONDS
    )]
    http_request_timeout_seconds: u64,
    /// Seconds a keep-alive connection may sit without a request.
    #[arg(long, env = "INVITD_HTTP_IDLE_TIMEOUT_SECONDS", default_value_t = defaults::HTTP_IDLE_TIMEOUT_SECONDS)]
    http_idle_timeout_seconds: u64,
    /// Open connections at most; more wait to be accepted. Lowered to what
    /// the open files limit allows.
    #[arg(long, env = "INVITD_HTTP_MAX_CONNECTIONS", default_value_t = defaults::HTTP_MAX_CONNECTIONS)]
    http_max_connections: usize,
    /// Requests a minute that one client address may make, on average,
    /// to the accept page and the token endpoints without a key; 0 turns
    /// the limit off.
    #[arg(long, env = "INVITD_RATE_LIMIT_PER_MINUTE", default_value_t = defaults::RATE_LIMIT_PER_MINUTE)]
    rate_limit_per_minute: u32,
    /// Such requests one client address may make at once.
    #[arg(long, env = "INVITD_RATE_LIMIT_BURST", default_value_t = defaults::RATE_LIMIT_BURST)]
    rate_limit_burst: u32,
    /// Comma-separated addresses of reverse proxies whose X-Forwarded-For
    /// header names the client (for the rate limit).
    #[arg(long, env = "INVITD_TRUSTED_PROXIES", value_delimiter = ',')]
    trusted_proxies: Vec<std::net::IpAddr>,
    /// Serve /metrics on this address only, instead of beside the API on
    /// --bind (for example 127.0.0.1:9090 for a local scraper).
    #[arg(long, env = "INVITD_METRICS_BIND")]
    metrics_bind: Option<SocketAddr>,
    /// Ask scrapers of /metrics for `Authorization: Bearer <token>`.
    #[arg(long, env = "INVITD_METRICS_TOKEN", hide_env_values = true)]
    metrics_token: Option<String>,
    /// Count invitations per tenant too (one label value per tenant: only
    /// for installations with a bounded number of tenants).
    #[arg(long, env = "INVITD_METRICS_TENANT_LABEL", value_parser = clap::builder::BoolishValueParser::new())]
    metrics_tenant_label: bool,
    /// New invitations a tenant may create per rolling 24 hours, for
    /// tenants that set no `invitations_per_day` of their own (unset:
    /// unlimited).
    #[arg(long, env = "INVITD_DEFAULT_INVITATIONS_PER_DAY")]
    default_invitations_per_day: Option<u32>,
    /// New invitations one inviter (`inviter.account_id`) may create in a
    /// tenant per rolling 24 hours, for tenants that set no
    /// `invitations_per_inviter_per_day` (unset: unlimited).
    #[arg(long, env = "INVITD_DEFAULT_INVITATIONS_PER_INVITER_PER_DAY")]
    default_invitations_per_inviter_per_day: Option<u32>,
}

#[derive(clap::Args)]
pub(crate) struct MailArgs {
    /// Mail transport: file:///path/to/folder, smtp://[user:pass@]host[:port][?tls=required|none], smtps://[user:pass@]host[:port].
    #[arg(long, env = "INVITD_MAIL_URL", default_value = defaults::MAIL_URL)]
    pub(crate) mail_url: String,
    /// Sender of invitation emails; a display name is allowed.
    #[arg(
        long,
        env = "INVITD_MAIL_FROM",
        default_value = defaults::MAIL_FROM
    )]
    pub(crate) mail_from: String,
}

pub(crate) async fn serve(database_url: String, args: ServeArgs) -> anyhow::Result<()> {
    let config = Config {
        bind: args.bind,
        public_url: args.public_url.unwrap_or_else(|| format!("http://{}", args.bind)),
        database_url: database_url.into(),
        mail_url: args.mail.mail_url.into(),
        mail_from: args.mail.mail_from,
        mail_retry_schedule: invitd_server::config::parse_schedule(&args.mail_retry_schedule)
            .map_err(|e| anyhow::anyhow!("--mail-retry-schedule: {e}"))?,
        mail_concurrency: args.mail_concurrency.max(1),
        database_pool_size: args.database_pool_size.max(1),
        webhook_allow_private_networks: args.webhook_allow_private_networks,
        webhook_retry_schedule: invitd_server::config::parse_schedule(&args.webhook_retry_schedule)
            .map_err(|e| anyhow::anyhow!("--webhook-retry-schedule: {e}"))?,
        webhook_disable_after: time::Duration::hours(i64::from(
            args.webhook_disable_after_hours.max(1),
        )),
        expiry_sweep_interval: std::time::Duration::from_secs(args.expiry_sweep_seconds.max(1)),
        database_statement_timeout: std::time::Duration::from_millis(
            args.database_statement_timeout_ms.max(1),
        ),
        mail_lease: time::Duration::seconds(i64::from(args.mail_lease_seconds.max(1))),
        templates_dir: args.templates_dir,
        http_header_timeout: std::time::Duration::from_secs(
            args.http_header_timeout_seconds.max(1),
        ),
        http_request_timeout: std::time::Duration::from_secs(
            args.http_request_timeout_seconds.max(1),
        ),
        http_idle_timeout: std::time::Duration::from_secs(args.http_idle_timeout_seconds.max(1)),
        http_max_connections: args.http_max_connections.max(1),
        rate_limit_per_minute: args.rate_limit_per_minute,
        rate_limit_burst: args.rate_limit_burst.max(1),
        trusted_proxies: args.trusted_proxies,
        metrics_bind: args.metrics_bind,
        metrics_token: args
            .metrics_token
            .filter(|t| !t.is_empty())
            .map(invitd_server::config::Hidden),
        metrics_tenant_label: args.metrics_tenant_label,
        default_invitations_per_day: args.default_invitations_per_day,
        default_invitations_per_inviter_per_day: args.default_invitations_per_inviter_per_day,
        ..Config::laptop_defaults()
    };
    // Before the listener opens: the connection cap is derived from it.
    invitd_server::http::raise_open_files_limit();
    let listener = invitd_server::listen(&config).await?;
    let running = invitd_server::start(config, listener).await?;
    println!("invitd listening on http://{}", running.addr);
    if let Some(addr) = running.metrics_addr {
        println!("metrics on http://{addr}/metrics");
    }
    shutdown_signal().await;
    tracing::info!("shutting down: finishing in-flight requests");
    running.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

/// A retry schedule as given, once it parses (so a mistake is reported by
/// the option or file key that carries it).
fn schedule(s: &str) -> Result<String, String> {
    invitd_server::config::parse_schedule(s).map(|_| s.to_string())
}
