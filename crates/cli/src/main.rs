//! `invitd`: the one binary. Serves the API, runs migrations, manages
//! tenants and keys from the command line, prints the OpenAPI document, and
//! runs the load benchmark.

mod bench;

use clap::{Parser, Subcommand};
use invitd_server::config::{Config, defaults};
use invitd_server::service::keys::NewKey;
use invitd_server::service::tenants::NewTenant;
use invitd_server::state::AppState;
use invitd_store::Audit;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "invitd",
    version,
    about = "A self-hosted, multi-tenant invitation service"
)]
struct Cli {
    /// Database URL: sqlite:///path/invitd.db (created if missing).
    #[arg(
        long,
        env = "INVITD_DATABASE_URL",
        default_value = defaults::DATABASE_URL,
        global = true
    )]
    database_url: String,
    /// Log as JSON lines instead of text.
    #[arg(long, env = "INVITD_LOG_JSON", global = true)]
    log_json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server and the email worker until SIGINT or SIGTERM.
    Serve(ServeArgs),
    /// Apply the database migrations and exit.
    Migrate,
    /// Manage tenants.
    #[command(subcommand)]
    Tenants(TenantsCommand),
    /// Manage API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Print the OpenAPI document.
    Openapi,
    /// Send one test message through the configured mail transport and
    /// explain any failure in plain words.
    SendTestEmail(SendTestArgs),
    /// Load-test a server over HTTP and print throughput and latency.
    Bench(bench::BenchArgs),
}

#[derive(clap::Args)]
struct ServeArgs {
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
        default_value = defaults::MAIL_RETRY_SCHEDULE
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
    #[arg(long, env = "INVITD_WEBHOOK_ALLOW_PRIVATE_NETWORKS")]
    webhook_allow_private_networks: bool,
    /// Waits between webhook attempts, after which a delivery fails.
    #[arg(
        long,
        env = "INVITD_WEBHOOK_RETRY_SCHEDULE",
        default_value = defaults::WEBHOOK_RETRY_SCHEDULE
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
}

#[derive(clap::Args)]
struct MailArgs {
    /// Mail transport: file:///path/to/folder, smtp://[user:pass@]host[:port][?tls=required|none], smtps://[user:pass@]host[:port].
    #[arg(long, env = "INVITD_MAIL_URL", default_value = defaults::MAIL_URL)]
    mail_url: String,
    /// Sender of invitation emails; a display name is allowed.
    #[arg(
        long,
        env = "INVITD_MAIL_FROM",
        default_value = defaults::MAIL_FROM
    )]
    mail_from: String,
}

#[derive(clap::Args)]
struct SendTestArgs {
    /// The recipient of the test message.
    #[arg(long)]
    to: String,
    #[command(flatten)]
    mail: MailArgs,
}

#[derive(Subcommand)]
enum TenantsCommand {
    /// Create a tenant with the roles viewer, editor, admin and owner.
    Create {
        /// The tenant id the host app uses (1–128 characters).
        id: String,
        #[arg(long)]
        name: String,
        /// Default email language (en, de, es, fr, pt, …).
        #[arg(long)]
        language: Option<String>,
        /// Days an invitation stays valid (1–30, default 7).
        #[arg(long)]
        lifetime_days: Option<i64>,
        /// Least seconds between two sends of one invitation (default 60).
        #[arg(long)]
        resend_cooldown_seconds: Option<i64>,
        /// Most resends per 24 hours (default 5).
        #[arg(long)]
        max_resends: Option<u32>,
    },
    /// List tenants.
    List,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create an API key; its secret is printed once, on the last line.
    Create {
        #[arg(long)]
        name: String,
        /// Comma-separated: invites:read, invites:write, tenants:admin, keys:admin.
        #[arg(long, value_delimiter = ',', required = true)]
        scopes: Vec<String>,
        /// A tenant the key reaches; repeat for several. Omit for all tenants.
        #[arg(long = "tenant")]
        tenants: Vec<String>,
    },
    /// List keys (never their secrets).
    List,
}

fn main() -> anyhow::Result<()> {
    // One TLS crypto provider for every client in the process (SMTP).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    init_logging(cli.log_json);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(cli))
}

fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("INVITD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// A state for command-line operations on the database (no server).
async fn offline_state(database_url: &str) -> anyhow::Result<AppState> {
    let mut config = Config::laptop_defaults();
    config.database_url = database_url.into();
    AppState::open(config, Arc::new(invitd_core::SystemClock)).await
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve(cli.database_url, args).await,
        Command::Migrate => {
            offline_state(&cli.database_url).await?;
            println!(
                "migrations applied to {}",
                invitd_store::redact_url(&cli.database_url)
            );
            Ok(())
        }
        Command::Openapi => {
            println!("{}", invitd_server::openapi_document().to_pretty_json()?);
            Ok(())
        }
        Command::Tenants(cmd) => {
            let state = offline_state(&cli.database_url).await?;
            match cmd {
                TenantsCommand::Create {
                    id,
                    name,
                    language,
                    lifetime_days,
                    resend_cooldown_seconds,
                    max_resends,
                } => {
                    let req = NewTenant {
                        id,
                        name,
                        language,
                        invitation_lifetime_days: lifetime_days,
                        resend_cooldown_seconds,
                        max_resends,
                        ..Default::default()
                    };
                    let t = state
                        .service()
                        .create_tenant_in(req, &Audit::operator())
                        .await
                        .map_err(describe)?;
                    println!(
                        "created tenant {} ({}) with roles viewer, editor, admin, owner",
                        t.id, t.name
                    );
                }
                TenantsCommand::List => {
                    for t in state.service().list_tenants_in().await? {
                        println!("{}\t{}", t.id, t.name);
                    }
                }
            }
            Ok(())
        }
        Command::Keys(cmd) => {
            let state = offline_state(&cli.database_url).await?;
            match cmd {
                KeysCommand::Create {
                    name,
                    scopes,
                    tenants,
                } => {
                    let req = NewKey {
                        name,
                        scopes,
                        tenants: (!tenants.is_empty()).then_some(tenants),
                    };
                    let (key, secret) = state
                        .service()
                        .create_key_in(req, &Audit::operator())
                        .await
                        .map_err(describe)?;
                    let reach = reach_of(&key, "all tenants");
                    println!(
                        "created key {} ({}) with scopes {} for {}",
                        key.id,
                        key.name,
                        key.scopes.join(","),
                        reach
                    );
                    println!(
                        "the secret below is shown once; send it as Authorization: Bearer <secret>"
                    );
                    println!("{}", secret.expose());
                }
                KeysCommand::List => {
                    for k in state.service().list_keys_in().await? {
                        let reach = reach_of(&k, "*");
                        let revoked = if k.revoked_at.is_some() {
                            "revoked"
                        } else {
                            "active"
                        };
                        println!(
                            "{}\t{}\t{}…\t{}\t{}\t{}",
                            k.id,
                            k.name,
                            k.hint,
                            k.scopes.join(","),
                            reach,
                            revoked
                        );
                    }
                }
            }
            Ok(())
        }
        Command::Bench(args) => bench::run(args, &cli.database_url).await,
        Command::SendTestEmail(args) => send_test_email(args).await,
    }
}

/// The tenants a key reaches, comma-separated, or `all` when unbounded.
fn reach_of(key: &invitd_store::ApiKey, all: &str) -> String {
    match &key.tenants {
        Some(tenants) => tenants
            .iter()
            .map(|t| t.as_str())
            .collect::<Vec<_>>()
            .join(","),
        None => all.to_string(),
    }
}

/// Turns a domain error into a plain message for the terminal.
fn describe(e: invitd_server::error::Error) -> anyhow::Error {
    let fields: Vec<String> = e
        .field_errors()
        .iter()
        .map(|f| format!("{}: {}", f.field, f.message))
        .collect();
    if fields.is_empty() {
        anyhow::anyhow!("{e}")
    } else {
        anyhow::anyhow!("{e}: {}", fields.join("; "))
    }
}

async fn serve(database_url: String, args: ServeArgs) -> anyhow::Result<()> {
    let config = Config {
        bind: args.bind,
        public_url: args
            .public_url
            .unwrap_or_else(|| format!("http://{}", args.bind)),
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
        ..Config::laptop_defaults()
    };
    // Before the listener opens: the connection cap is derived from it.
    invitd_server::http::raise_open_files_limit();
    let listener = invitd_server::listen(&config).await?;
    let running = invitd_server::start(config, listener).await?;
    println!("invitd listening on http://{}", running.addr);
    shutdown_signal().await;
    tracing::info!("shutting down: finishing in-flight requests");
    running.shutdown().await;
    Ok(())
}

async fn send_test_email(args: SendTestArgs) -> anyhow::Result<()> {
    let target = invitd_store::redact_url(&args.mail.mail_url);
    let mailer = invitd_mail::from_url(&args.mail.mail_url).map_err(|e| anyhow::anyhow!("{e}"))?;
    let email = invitd_mail::RenderedEmail {
        message_id: format!("<test-{}@invitd>", uuid::Uuid::now_v7()),
        from: args.mail.mail_from.clone(),
        to: args.to.clone(),
        subject: "invitd test message".into(),
        text: "This is a test message from invitd. If you can read it, email delivery works.\n"
            .into(),
        html:
            "<p>This is a test message from invitd. If you can read it, email delivery works.</p>"
                .into(),
    };
    match mailer.send(&email).await {
        Ok(reply) => {
            println!(
                "sent to {} through {target}; the server said: {reply}",
                args.to
            );
            Ok(())
        }
        Err(e) => {
            eprintln!("could not send: {}", invitd_mail::diagnose(&e, &target));
            std::process::exit(1);
        }
    }
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
