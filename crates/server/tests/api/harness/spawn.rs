//! Starting a test app: options, its database and clock, the admin key
//! and the tenants every test starts with.

use super::{BACKEND, Backend, TestApp};
use invitd_core::{Clock, FixedClock};
use invitd_server::config::Config;
use invitd_server::service::keys::NewKey;
use invitd_server::service::tenants::NewTenant;
use invitd_store::Audit;
use std::sync::Arc;

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Options::default()).await
}

/// A change to a test server's configuration.
pub type Configure = Box<dyn FnOnce(&mut Config) + Send>;

/// How to start a test app.
#[derive(Default)]
pub struct Options {
    /// Mail transport URL; the file transport in the app's folder if unset.
    pub mail_url: Option<String>,
    /// Reuse another app's folder and database, as a restart would.
    pub dir: Option<Arc<tempfile::TempDir>>,
    pub database_url: Option<String>,
    /// The clock's start; now if unset.
    pub now: Option<time::OffsetDateTime>,
    pub retry_schedule: Option<Vec<time::Duration>>,
    /// Run the email worker in the background (tests drive it by hand
    /// otherwise).
    pub run_worker: bool,
    /// Accept links point at the server's real address (for a browser)
    /// instead of `http://invitd.test`.
    pub real_links: bool,
    /// Let webhooks go to 127.0.0.1 (the tests' receivers).
    pub private_webhooks: bool,
    /// Each reading of the server's clock moves it on by this much, so
    /// two readings never give the same time.
    pub tick: Option<time::Duration>,
    /// Changes to the server's configuration, applied last.
    pub configure: Option<Configure>,
}

/// A clock that moves on by `step` each time it is read.
struct Ticking {
    inner: Arc<FixedClock>,
    step: time::Duration,
}

impl Clock for Ticking {
    fn now(&self) -> time::OffsetDateTime {
        self.inner.advance(self.step);
        self.inner.now()
    }
}

pub async fn spawn_app_with(options: Options) -> TestApp {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let fresh = options.dir.is_none();
    let dir = options.dir.unwrap_or_else(|| Arc::new(tempfile::tempdir().expect("tempdir")));
    let mail_dir = dir.path().join("mail");
    let database_url = match options.database_url {
        Some(url) => url,
        None => match BACKEND.try_with(Clone::clone).unwrap_or(Backend::Sqlite) {
            Backend::Sqlite => format!("sqlite://{}", dir.path().join("test.db").display()),
            Backend::Postgres(base) => invitd_store::testing::fresh_postgres_database(&base)
                .await
                .expect("fresh PostgreSQL database"),
        },
    };
    // Bound before the server starts and handed to it, so the port is ours
    // from the start (accept links can name it) and nothing else can take it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a test port");
    let bind = listener.local_addr().expect("bound address");
    let public_url = if options.real_links {
        format!("http://{bind}")
    } else {
        "http://invitd.test".to_string()
    };
    let mut config = Config {
        bind,
        public_url,
        database_url: database_url.clone().into(),
        mail_url: options
            .mail_url
            .unwrap_or_else(|| format!("file://{}", mail_dir.display()))
            .into(),
        run_worker: options.run_worker,
        ..Config::laptop_defaults()
    };
    config.webhook_allow_private_networks = options.private_webhooks;
    if let Some(schedule) = options.retry_schedule {
        config.mail_retry_schedule = schedule;
    }
    if let Some(configure) = options.configure {
        configure(&mut config);
    }
    let clock =
        Arc::new(FixedClock::new(options.now.unwrap_or_else(time::OffsetDateTime::now_utc)));
    let server_clock: Arc<dyn Clock> = match options.tick {
        Some(step) => Arc::new(Ticking { inner: clock.clone(), step }),
        None => clock.clone(),
    };
    let running = invitd_server::start_with_clock(config, listener, server_clock)
        .await
        .expect("server starts");
    let service = running.state.service();
    let operator = Audit::operator();
    let (_, secret) = service
        .create_key_in(
            NewKey {
                name: "test-admin".into(),
                scopes: vec![
                    "invites:read".into(),
                    "invites:write".into(),
                    "tenants:admin".into(),
                    "keys:admin".into(),
                ],
                tenants: None,
            },
            &operator,
        )
        .await
        .expect("admin key");
    if fresh {
        for (id, name) in [("acme", "Acme Inc"), ("globex", "Globex")] {
            service
                .create_tenant_in(
                    NewTenant { id: id.into(), name: name.into(), ..Default::default() },
                    &operator,
                )
                .await
                .expect("tenant");
        }
    }
    TestApp {
        base: format!("http://{}", running.addr),
        client: reqwest::Client::new(),
        key: secret.expose().to_string(),
        clock,
        running,
        mail_dir,
        dir,
        database_url,
    }
}
