//! `invitd`: the one binary. Serves the API, runs migrations, manages
//! tenants and keys from the command line, prints the OpenAPI document, and
//! runs the load benchmark.

/// mimalloc instead of glibc's malloc: measured faster on the request path
/// and returns the memory of a burst to the system sooner.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod bench;
mod config_cmd;
mod config_file;
mod invite;
mod serve;

use serve::{MailArgs, ServeArgs, serve};

use clap::{Parser, Subcommand};
use invitd_server::config::{Config, defaults};
use invitd_server::service::keys::NewKey;
use invitd_server::service::tenants::NewTenant;
use invitd_server::state::AppState;
use invitd_store::Audit;
use std::sync::Arc;

#[derive(Parser)]
#[command(name = "invitd", version, about = "A self-hosted, multi-tenant invitation service")]
struct Cli {
    /// Database URL: sqlite:///path/invitd.db (created if missing) or
    /// postgres://user:password@host/database (created beforehand).
    #[arg(
        long,
        env = "INVITD_DATABASE_URL",
        default_value = defaults::DATABASE_URL,
        global = true
    )]
    database_url: String,
    /// Log as JSON lines instead of text.
    #[arg(long, env = "INVITD_LOG_JSON", global = true, value_parser = clap::builder::BoolishValueParser::new())]
    log_json: bool,
    /// A TOML file of settings: keys are the long options with `_` for `-`
    /// (see `invitd config example`); variables and flags override it.
    #[arg(long, env = "INVITD_CONFIG", global = true)]
    config: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server and the email worker until SIGINT or SIGTERM.
    Serve(Box<ServeArgs>),
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
    /// Invite everyone in a CSV file through a running server, with a
    /// per-row report (exit 0: all invited or already pending; 2: some
    /// rows failed; 1: the import stopped).
    Invite(invite::InviteArgs),
    /// Print an example configuration file, or the effective settings.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print a complete, commented configuration file with every setting
    /// at its default; it loads as it is.
    Example,
    /// Print the settings `invitd serve` would run with (defaults, the
    /// file, variables, flags), each with its source; secrets as `***`.
    Show,
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
        /// The tenant's display name, shown in emails and on the accept
        /// page (1–200 characters).
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
        /// A name to tell the key by in listings and the audit trail.
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
    let cli = match config_file::parse::<Cli>(std::env::args_os().collect()) {
        Ok(cli) => cli,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(2);
        }
    };
    init_logging(cli.log_json);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run(cli))
}

fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("INVITD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    // Colour only for a person at a terminal, never into a file or a
    // log collector.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
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
        Command::Serve(args) => serve(cli.database_url, *args).await,
        Command::Migrate => {
            offline_state(&cli.database_url).await?;
            println!("migrations applied to {}", invitd_store::redact_url(&cli.database_url));
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
                    // As `POST /v1/tenants` does: the one time it is shown.
                    if let Some(secret) = &t.ticket_secret {
                        println!(
                            "its ticket secret (verifies the accept page's tickets, HS256) is shown once, below"
                        );
                        println!("{}", secret.expose());
                    }
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
                KeysCommand::Create { name, scopes, tenants } => {
                    let req =
                        NewKey { name, scopes, tenants: (!tenants.is_empty()).then_some(tenants) };
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
                        let revoked = if k.revoked_at.is_some() { "revoked" } else { "active" };
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
        Command::Invite(args) => {
            let code = invite::run(args).await?;
            std::process::exit(code);
        }
        Command::Config(ConfigCommand::Example) => {
            print!("{}", config_cmd::example(<Cli as clap::CommandFactory>::command()));
            Ok(())
        }
        Command::Config(ConfigCommand::Show) => {
            let shown = config_cmd::show(
                <Cli as clap::CommandFactory>::command(),
                std::env::args_os().collect(),
            )?;
            print!("{shown}");
            Ok(())
        }
        Command::SendTestEmail(args) => send_test_email(args).await,
    }
}

/// The tenants a key reaches, comma-separated, or `all` when unbounded.
fn reach_of(key: &invitd_store::ApiKey, all: &str) -> String {
    match &key.tenants {
        Some(tenants) => tenants.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(","),
        None => all.to_string(),
    }
}

/// Turns a domain error into a plain message for the terminal.
fn describe(e: invitd_server::error::Error) -> anyhow::Error {
    let fields: Vec<String> =
        e.field_errors().iter().map(|f| format!("{}: {}", f.field, f.message)).collect();
    if fields.is_empty() {
        anyhow::anyhow!("{e}")
    } else {
        anyhow::anyhow!("{e}: {}", fields.join("; "))
    }
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
            println!("sent to {} through {target}; the server said: {reply}", args.to);
            Ok(())
        }
        Err(e) => {
            eprintln!("could not send: {}", invitd_mail::diagnose(&e, &target));
            std::process::exit(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    /// Every option of every command says what it is for in `--help`.
    #[test]
    fn every_option_has_a_help_line() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                let builtin = matches!(arg.get_id().as_str(), "help" | "version");
                if !builtin && arg.get_help().is_none() && arg.get_long_help().is_none() {
                    missing.push(format!("{path} --{}", arg.get_id()));
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "invitd", &mut missing);
        assert!(missing.is_empty(), "options without help: {missing:?}");
    }
}
