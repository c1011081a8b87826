//! Starts the real server for one test and talks to it.

use invitd_core::{Clock, FixedClock};
use invitd_server::Running;
use invitd_server::config::Config;
use invitd_server::service::keys::NewKey;
use invitd_server::service::tenants::NewTenant;
use invitd_store::Audit;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    /// A key with every scope on every tenant.
    pub key: String,
    pub clock: Arc<FixedClock>,
    pub running: Running,
    pub mail_dir: PathBuf,
    pub dir: Arc<tempfile::TempDir>,
    pub database_url: String,
}

/// A response: status, headers and JSON body (Null when not JSON).
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// Asserts the status, printing the body when it differs.
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.body);
        self.body
    }
    /// Asserts a problem document with this status and code.
    #[track_caller]
    pub fn problem(self, status: u16, code: &str) -> Value {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(
            self.headers.get("content-type").and_then(|v| v.to_str().ok()),
            Some("application/problem+json")
        );
        assert_eq!(self.body["code"], code, "body: {}", self.body);
        assert_eq!(self.body["status"], status);
        assert!(self.body["detail"].is_string());
        self.body
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Options::default()).await
}

/// The database a test runs on.
#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    /// The server of `INVITD_TEST_DATABASE_URL`; each app gets a fresh database.
    Postgres(String),
}

tokio::task_local! {
    /// Set by [`both!`] for the test body it runs.
    pub static BACKEND: Backend;
}

/// Runs a test body on a backend.
pub async fn on_backend<F: std::future::Future<Output = ()>>(backend: Backend, body: F) {
    BACKEND.scope(backend, body).await
}

/// Runs a test body on PostgreSQL (the variant is ignored at compile time
/// when `INVITD_TEST_DATABASE_URL` is unset, see `build.rs`).
pub async fn on_postgres<F: std::future::Future<Output = ()>>(body: F) {
    let url = invitd_store::testing::postgres_test_url().expect("INVITD_TEST_DATABASE_URL is set");
    on_backend(Backend::Postgres(url), body).await
}

/// Runs the test body `async fn <name>()` defined above it twice, as
/// `<name>::sqlite` and `<name>::postgres` (the body is an ordinary
/// function, so rustfmt and the compiler see it as written).
macro_rules! both {
    ($name:ident) => {
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                $crate::harness::on_backend($crate::harness::Backend::Sqlite, super::$name()).await
            }

            #[tokio::test]
            #[cfg_attr(
                not(pg_tests),
                ignore = "PostgreSQL skipped: set INVITD_TEST_DATABASE_URL to run it"
            )]
            async fn postgres() {
                $crate::harness::on_postgres(super::$name()).await
            }
        }
    };
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

impl TestApp {
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(key) = key {
            req = req.bearer_auth(key);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply { status, headers, body }
    }

    /// Requests made with the admin key.
    fn as_admin(&self) -> As<'_> {
        As { app: self, key: Some(self.key.clone()), headers: Vec::new() }
    }

    /// Requests made with another key.
    pub fn with_key(&self, key: &str) -> As<'_> {
        As { key: Some(key.to_string()), ..self.as_admin() }
    }

    /// Requests made with the admin key and this `Idempotency-Key`.
    pub fn with_idempotency_key(&self, key: &str) -> As<'_> {
        self.as_admin().with_idempotency_key(key)
    }

    /// Invites `emails` to acme as editors; returns the created invitations.
    pub async fn invite(&self, emails: &[&str]) -> Vec<Value> {
        let body =
            self.create("acme", json!({"emails": emails, "roles": ["editor"]})).await.expect(201);
        body["invitations"].as_array().cloned().unwrap_or_default()
    }

    /// Invites one address; returns (id, token).
    pub async fn invite_one(&self, email: &str) -> (String, String) {
        let inv = self.invite(&[email]).await.remove(0);
        (inv["id"].as_str().expect("id").to_string(), token_of(&inv))
    }

    /// Creates a key with these scopes and tenants; returns its secret.
    pub async fn key_with(&self, scopes: &[&str], tenants: Option<&[&str]>) -> String {
        let body = self
            .post("/v1/keys", json!({"name": "k", "scopes": scopes, "tenants": tenants}))
            .await
            .expect(201);
        body["secret"].as_str().expect("secret").to_string()
    }

    /// Runs one round of the email worker (up to one batch of due emails).
    pub async fn deliver(&self) -> usize {
        self.running.worker.run_once().await.expect("worker round")
    }

    /// Runs the email worker until nothing is due.
    pub async fn deliver_all(&self) -> usize {
        let mut total = 0;
        loop {
            match self.deliver().await {
                0 => return total,
                n => total += n,
            }
        }
    }

    /// The `.eml` files written so far, as text.
    pub fn emails(&self) -> Vec<String> {
        let mut files: Vec<_> = std::fs::read_dir(&self.mail_dir)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files.iter().map(|p| std::fs::read_to_string(p).expect("read eml")).collect()
    }

    pub fn advance(&self, by: time::Duration) {
        self.clock.advance(by);
    }
}

/// Requests to a test app with a chosen key and headers; the typed calls
/// name the operation rather than spell its method and path.
pub struct As<'a> {
    app: &'a TestApp,
    key: Option<String>,
    headers: Vec<(String, String)>,
}

impl As<'_> {
    pub fn with_idempotency_key(mut self, key: &str) -> Self {
        self.headers.push(("idempotency-key".to_string(), key.to_string()));
        self
    }
}

/// The calls a test makes, named for the operation rather than spelled as
/// a method and a path; [`TestApp`] makes them with the admin key, [`As`]
/// with the key and headers it was given.
pub trait Api {
    fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> impl std::future::Future<Output = Reply>;

    async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(Method::POST, path, Some(&body)).await
    }

    async fn put(&self, path: &str) -> Reply {
        self.send(Method::PUT, path, None).await
    }

    async fn delete(&self, path: &str) -> Reply {
        self.send(Method::DELETE, path, None).await
    }

    async fn patch(&self, path: &str, body: Value) -> Reply {
        self.send(Method::PATCH, path, Some(&body)).await
    }

    /// Creates invitations on a tenant (`body` as the API takes it).
    async fn create(&self, tenant: &str, body: Value) -> Reply {
        self.post(&format!("/v1/tenants/{tenant}/invitations"), body).await
    }

    /// One invitation, as `GET /v1/tenants/{tenant}/invitations/{id}` shows it.
    async fn invitation(&self, tenant: &str, id: &str) -> Reply {
        self.get(&format!("/v1/tenants/{tenant}/invitations/{id}")).await
    }

    async fn resend(&self, tenant: &str, id: &str) -> Reply {
        self.post(&format!("/v1/tenants/{tenant}/invitations/{id}/resend"), json!({})).await
    }

    async fn revoke(&self, tenant: &str, id: &str) -> Reply {
        self.post(&format!("/v1/tenants/{tenant}/invitations/{id}/revoke"), json!({})).await
    }

    /// Accepts by token, as a host app does.
    async fn accept(&self, token: &str) -> Reply {
        self.post("/v1/invitations/accept", json!({"token": token})).await
    }

    /// Declines by token, as a host app does.
    async fn decline(&self, token: &str) -> Reply {
        self.post("/v1/invitations/decline", json!({"token": token})).await
    }
}

impl Api for TestApp {
    async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Reply {
        self.as_admin().send(method, path, body).await
    }
}

impl Api for As<'_> {
    async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Reply {
        let headers: Vec<(&str, &str)> =
            self.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        self.app.call(method, path, self.key.as_deref(), body, &headers).await
    }
}

/// The token at the end of an invitation's `accept_url`.
pub fn token_of(inv: &Value) -> String {
    let url = inv["accept_url"].as_str().expect("accept_url");
    url.rsplit('/').next().expect("token").to_string()
}

/// A port for a mailcrab SMTP server (or for nothing: a refused
/// connection). mailcrab binds its own address and takes no listener, so
/// this is the one place a port is found by binding and letting go; the
/// servers under test are handed their bound listener instead.
pub fn smtp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A mailcrab SMTP server and everything it has received.
pub struct Inbox {
    stop: Box<dyn Fn() + Send + Sync>,
    pub received: std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>,
    /// Asks the pump to take in everything already queued, then answers.
    flush: tokio::sync::mpsc::UnboundedSender<tokio::sync::oneshot::Sender<()>>,
    arrived: std::sync::Arc<tokio::sync::Notify>,
}

impl Inbox {
    pub async fn start(port: u16) -> Inbox {
        let mut handle = mailcrab::development_mail_server([127, 0, 0, 1], port).await;
        let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let arrived = std::sync::Arc::new(tokio::sync::Notify::new());
        let (flush, mut flushes) =
            tokio::sync::mpsc::unbounded_channel::<tokio::sync::oneshot::Sender<()>>();
        let (sink, ping) = (received.clone(), arrived.clone());
        tokio::spawn(async move {
            use tokio::sync::broadcast::error::{RecvError, TryRecvError};
            let keep = |message: mailcrab::MailMessage| {
                sink.lock().unwrap().push(serde_json::to_value(&message).unwrap());
                ping.notify_one();
            };
            loop {
                tokio::select! {
                    message = handle.rx.recv() => match message {
                        Ok(message) => keep(message),
                        Err(RecvError::Lagged(n)) => panic!("inbox lagged by {n} messages"),
                        Err(RecvError::Closed) => return,
                    },
                    Some(done) = flushes.recv() => {
                        loop {
                            match handle.rx.try_recv() {
                                Ok(message) => keep(message),
                                Err(TryRecvError::Lagged(n)) => panic!("inbox lagged by {n} messages"),
                                Err(_) => break,
                            }
                        }
                        let _ = done.send(());
                    }
                }
            }
        });
        let cancel = handle.token.clone();
        // Ready when it accepts connections.
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        Inbox { stop: Box::new(move || cancel.cancel()), received, flush, arrived }
    }

    /// Everything received by now. mailcrab queues a message before it
    /// answers 250, so once a send has returned its message is here: after
    /// `deliver_all` (or a shutdown awaited), this is the whole count, and
    /// a duplicate cannot be still on its way.
    pub async fn settled(&self) -> Vec<serde_json::Value> {
        let (done, flushed) = tokio::sync::oneshot::channel();
        self.flush.send(done).expect("inbox pump running");
        flushed.await.expect("inbox pump answers");
        self.received.lock().unwrap().clone()
    }

    /// Waits until `n` messages have arrived (or 20 s), then returns all
    /// received by then.
    pub async fn wait_for(&self, n: usize) -> Vec<serde_json::Value> {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let got = self.settled().await;
            if got.len() >= n || tokio::time::Instant::now() >= deadline {
                return got;
            }
            let _ = tokio::time::timeout_at(deadline, self.arrived.notified()).await;
        }
    }

    pub fn stop(&self) {
        (self.stop)();
    }
}

/// The JSON type a schema field must have.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Str,
    /// A string or `null`.
    OptStr,
    Int,
    Bool,
    /// An array of strings.
    Strs,
    Object,
    Null,
}

/// Checks `value` against a schema: exactly these fields, each of its type.
#[track_caller]
pub fn assert_shape(value: &serde_json::Value, schema: &[(&str, Kind)]) {
    let object = value.as_object().unwrap_or_else(|| panic!("not an object: {value}"));
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    let mut expected: Vec<&str> = schema.iter().map(|(k, _)| *k).collect();
    keys.sort();
    expected.sort();
    assert_eq!(keys, expected, "fields of {value}");
    for (field, kind) in schema {
        let v = &object[*field];
        let ok = match kind {
            Kind::Str => v.is_string(),
            Kind::OptStr => v.is_string() || v.is_null(),
            Kind::Int => v.is_i64(),
            Kind::Bool => v.is_boolean(),
            Kind::Strs => v.as_array().is_some_and(|a| a.iter().all(|x| x.is_string())),
            Kind::Object => v.is_object(),
            Kind::Null => v.is_null(),
        };
        assert!(ok, "{field} should be {kind:?}, is {v}");
    }
}

/// Parses an ISO 8601 / RFC 3339 date-time.
#[track_caller]
pub fn date(v: &serde_json::Value) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(v.as_str().unwrap(), &time::format_description::well_known::Rfc3339)
        .unwrap()
}
