//! The invitd server: configuration; the HTTP faces (the native `/v1` API
//! with its OpenAPI document and Swagger UI, the seed-compatible APIs under
//! `compat`, the accept page, health and readiness), served by an accept
//! loop of our own with timeouts, a connection cap and a per-address rate
//! limit; API-key authentication and scopes; problem+json errors; the
//! idempotency layer; the service that holds the rules; and the background
//! work: the email worker, the webhook worker and the expiry sweep.
//!
//! [`start`] serves a bound listener ([`listen`] binds `config.bind`);
//! [`start_with_clock`] does the same on a given clock.

pub mod accept;
pub mod auth;
pub mod compat;
pub mod config;
pub mod console;
pub mod error;
pub mod extract;
mod health;
pub mod http;
mod idempotency;
pub mod metrics;
pub mod openapi;
pub mod ratelimit;
pub mod service;
pub mod state;
pub mod v1;
pub mod view;
pub mod webhooks;
pub mod workers;

use anyhow::Context;
use axum::Router;
use axum::http::Request;
use config::Config;
use invitd_core::{Clock, SystemClock};
use state::{AppState, KeyCache};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use workers::mail::{OutboxWorker, WorkerConfig};

impl AppState {
    pub fn service(&self) -> service::Service {
        service::Service::new(self.clone())
    }

    /// Opens the store named by `config` (migrating it) and builds the state
    /// the faces, the workers and the command line share.
    pub async fn open(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<AppState> {
        let store = invitd_store::open(&config.database_url, &config.store_options())
            .await
            .with_context(|| {
                format!(
                    "cannot open the database at {}",
                    invitd_store::redact_url(&config.database_url)
                )
            })?;
        // Signs the accept page's form nonces: the same in every process on
        // the database.
        let form_key = store
            .installation_secret(invitd_core::Secret::generate("").expose())
            .await
            .context("installation secret")?;
        Ok(AppState::new(state::Shared {
            store,
            clock,
            config: Arc::new(config),
            outbox_notify: Arc::new(Notify::new()),
            keys: Arc::new(KeyCache::default()),
            form_key: Arc::new(form_key.into_bytes()),
            write_health: Default::default(),
            sign_in_limiter: Arc::new(console::sign_in_limiter()),
            session_touch: Default::default(),
        }))
    }
}

/// The documented routes and the document describing them.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(v1::router())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
}

/// The OpenAPI document, as served at `/openapi.json`.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    openapi::complete(api_router().into_openapi())
}

/// Paths as they may appear in access logs: accept-link tokens redacted.
pub fn loggable_path(path: &str) -> String {
    match path.strip_prefix("/i/") {
        Some(_) => "/i/<redacted>".to_string(),
        None => path.to_string(),
    }
}

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    let (api, doc) = api_router().split_for_parts();
    // A route layer: only requests that matched a route and method reach it.
    let api =
        api.route_layer(axum::middleware::from_fn_with_state(state.clone(), idempotency::layer));
    // Swagger UI works offline: no badge asking an outside validator about
    // the document.
    let swagger = utoipa_swagger_ui::SwaggerUi::new("/docs")
        .url("/openapi.json", openapi::complete(doc))
        .config(utoipa_swagger_ui::Config::default().validator_url("none"));
    let max_body = state.config.max_body_bytes;
    let health_state = state.clone();
    let limit = ratelimit::Limit {
        limiter: Arc::new(ratelimit::RateLimiter::new(
            state.config.rate_limit_per_minute,
            state.config.rate_limit_burst,
        )),
        trusted_proxies: Arc::new(state.config.trusted_proxies.clone()),
    };
    // A documented path asked with a method it does not take: a problem
    // document like every other refusal (axum keeps the `Allow` header).
    // `/metrics` beside the API unless it has a listener of its own.
    let metrics_here = state.config.metrics_bind.is_none();
    let api =
        if metrics_here { api.route("/metrics", axum::routing::get(metrics::scrape)) } else { api };
    api.method_not_allowed_fallback(|| async { error::Error::MethodNotAllowed })
        .merge(accept::router())
        .merge(console::router())
        .merge(compat::router())
        .fallback(|| async { error::Error::NotFound("route") })
        .with_state(state)
        .merge(swagger)
        .layer(axum::extract::DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::from_fn_with_state(health_state, health::track_write_health))
        .layer(axum::middleware::from_fn_with_state(limit, ratelimit::layer))
        .layer(axum::middleware::from_fn(http::access::record_route))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
            let id = req.extensions().get::<http::access::RequestId>().map(|id| id.0.as_str());
            tracing::info_span!(
                "request",
                method = %req.method(),
                path = %loggable_path(req.uri().path()),
                request_id = id.unwrap_or("")
            )
        }))
}

/// A running server.
pub struct Running {
    pub addr: SocketAddr,
    /// Where `/metrics` is served when it has a listener of its own.
    pub metrics_addr: Option<SocketAddr>,
    pub state: AppState,
    pub worker: OutboxWorker,
    pub webhooks: workers::webhooks::WebhookWorker,
    shutdown: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Stops everything at once, as a crash or `kill -9` would: in-flight
    /// requests and sends are dropped wherever they are.
    pub fn abort(self) {
        for task in &self.tasks {
            task.abort();
        }
    }

    /// Stops accepting, finishes in-flight requests, stops the worker.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Binds `config.bind`, the listener [`start`] takes when the address
/// comes from the configuration (as for `invitd serve`).
pub async fn listen(config: &Config) -> anyhow::Result<TcpListener> {
    TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("cannot listen on {}", config.bind))
}

/// Opens the store and mail transport named by `config` and serves on
/// `listener` in the background, on the system clock.
pub async fn start(config: Config, listener: TcpListener) -> anyhow::Result<Running> {
    start_with_clock(config, listener, Arc::new(SystemClock)).await
}

/// [`start`] on a given clock (tests move time by hand).
pub async fn start_with_clock(
    config: Config,
    listener: TcpListener,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Running> {
    // The TLS clients (SMTP, webhooks, PostgreSQL) share one crypto provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let state = AppState::open(config.clone(), clock.clone()).await?;
    let store = state.store.clone();
    let mailer = invitd_mail::from_url(&config.mail_url).context("mail transport")?;
    let templates =
        Arc::new(invitd_mail::Templates::new(config.templates_dir.clone()).context("templates")?);
    let worker_config = WorkerConfig::from_config(&config);
    let worker = OutboxWorker::new(store, mailer, templates, clock, worker_config);
    let addr = listener.local_addr()?;
    let (shutdown, rx) = watch::channel(false);
    let mut tasks = Vec::new();
    let limits = http::Limits {
        header_timeout: config.http_header_timeout,
        request_timeout: config.http_request_timeout,
        idle_timeout: config.http_idle_timeout,
        max_connections: http::effective_max_connections(config.http_max_connections),
    };
    metrics::install(config.metrics_tenant_label);
    let metrics_addr = match config.metrics_bind {
        Some(bind) => {
            let metrics_listener = TcpListener::bind(bind)
                .await
                .with_context(|| format!("cannot listen on {bind} for metrics"))?;
            let metrics_addr = metrics_listener.local_addr()?;
            let metrics_app = Router::new()
                .route("/metrics", axum::routing::get(metrics::scrape))
                .with_state(state.clone());
            tasks.push(tokio::spawn(http::serve(
                metrics_listener,
                metrics_app,
                limits,
                rx.clone(),
            )));
            tracing::info!(addr = %metrics_addr, "metrics listening");
            Some(metrics_addr)
        }
        None => None,
    };
    tasks.push(tokio::spawn(http::serve(listener, app(state.clone()), limits, rx.clone())));
    let webhook_worker = workers::webhooks::WebhookWorker::new(
        state.store.clone(),
        state.clock.clone(),
        workers::webhooks::WebhookConfig {
            allow_private: config.webhook_allow_private_networks,
            schedule: config.webhook_retry_schedule.clone(),
            disable_after: config.webhook_disable_after,
            timeout: config.webhook_timeout,
            per_endpoint: config.webhook_concurrency_per_endpoint.max(1),
            lease: time::Duration::seconds(config.webhook_timeout.as_secs() as i64 * 3 + 30),
            poll: std::time::Duration::from_millis(500),
        },
    )?;
    if config.run_worker {
        tasks.push(tokio::spawn(worker.clone().run(state.outbox_notify.clone(), rx.clone())));
        tasks.push(tokio::spawn(webhook_worker.clone().run(rx.clone())));
        tasks.push(tokio::spawn(workers::expiry::sweep(
            state.store.clone(),
            state.clock.clone(),
            config.expiry_sweep_interval,
            rx,
        )));
    }
    tracing::info!(%addr, "invitd listening");
    Ok(Running { addr, metrics_addr, state, worker, webhooks: webhook_worker, shutdown, tasks })
}
