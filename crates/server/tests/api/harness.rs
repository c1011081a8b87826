//! Starts the real server for one test and talks to it.

mod inbox;
mod shape;
mod smtp_peer;
mod spawn;

pub use inbox::{Inbox, smtp_port};
pub use shape::{Kind, assert_shape, date};
pub use smtp_peer::scripted_smtp;
pub use spawn::{Options, spawn_app, spawn_app_with};

use invitd_core::FixedClock;
use invitd_server::Running;
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

    /// Requests made with the admin key and one more header.
    pub fn with_header(&self, name: &str, value: &str) -> As<'_> {
        self.as_admin().with_header(name, value)
    }

    /// `GET path` with no key; the body as text.
    pub async fn text(&self, path: &str) -> String {
        let resp = self.client.get(format!("{}{path}", self.base)).send().await.expect("request");
        resp.text().await.expect("body")
    }

    /// Follows a listing's `next_cursor` from `first` (a path with a query)
    /// to the end; the `field` arrays of every page, in order.
    pub async fn all_pages(&self, first: &str, field: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut path = first.to_string();
        loop {
            let page = self.get(&path).await.expect(200);
            items.extend(page[field].as_array().expect("a list").iter().cloned());
            match page["next_cursor"].as_str() {
                Some(cursor) => path = format!("{first}&cursor={cursor}"),
                None => return items,
            }
        }
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

    /// Invites one address, then moves the clock two minutes on, past the
    /// resend cooldown; returns (id, token).
    pub async fn invite_one_ready_to_resend(&self, email: &str) -> (String, String) {
        let invited = self.invite_one(email).await;
        self.advance(time::Duration::minutes(2));
        invited
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
    pub fn with_idempotency_key(self, key: &str) -> Self {
        self.with_header("idempotency-key", key)
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
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

/// A create body that invites `emails` as viewers.
pub fn viewers(emails: &[&str]) -> Value {
    json!({"emails": emails, "roles": ["viewer"]})
}

/// The string `field` of every item of a JSON list.
#[track_caller]
pub fn strings<'a>(list: &'a Value, field: &str) -> Vec<&'a str> {
    let items = list.as_array().unwrap_or_else(|| panic!("not a list: {list}"));
    items.iter().map(|item| item[field].as_str().expect("a string")).collect()
}

/// The token at the end of an invitation's `accept_url`.
pub fn token_of(inv: &Value) -> String {
    let url = inv["accept_url"].as_str().expect("accept_url");
    url.rsplit('/').next().expect("token").to_string()
}
