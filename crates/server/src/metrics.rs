//! Prometheus metrics at `GET /metrics` (text exposition format).
//!
//! Counters and histograms are recorded where things happen (the access
//! line, the workers, the service); gauges of waiting work, connections
//! and the process are read at scrape time. No label takes an unbounded
//! value: routes are the matched templates, outcomes and events are fixed
//! words, and the tenant is a label only when the operator turns it on
//! (`metrics_tenant_label`), since tenants are as many as the host app
//! makes.
//!
//! The recorder is process-wide (installed by the first server a process
//! starts), so in-process tests read deltas, never absolute values.

use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
static TENANT_LABEL: AtomicBool = AtomicBool::new(false);

/// Latency buckets in seconds: 1 ms to 30 s.
const BUCKETS: [f64; 14] =
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// Installs the recorder once per process; `None` if another recorder was
/// installed first (then `/metrics` answers 503).
pub fn install(tenant_label: bool) -> Option<&'static PrometheusHandle> {
    TENANT_LABEL.store(tenant_label, Ordering::Relaxed);
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &BUCKETS)
                .ok()?
                .install_recorder()
                .ok()?;
            describe();
            Some(handle)
        })
        .as_ref()
}

/// The `# HELP` lines.
fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "invitd_http_requests_total",
        "HTTP requests by method, matched route and status class"
    );
    describe_histogram!(
        "invitd_http_request_duration_seconds",
        "Time to answer a request, by method and route"
    );
    describe_counter!("invitd_invitations_total", "Invitations by lifecycle event");
    describe_counter!(
        "invitd_email_sends_total",
        "Emails handed to the transport, by outcome (sent, retry, failed)"
    );
    describe_histogram!(
        "invitd_email_send_duration_seconds",
        "Time the mail transport took per email"
    );
    describe_counter!(
        "invitd_webhook_attempts_total",
        "Webhook attempts by outcome (delivered, retry, failed)"
    );
    describe_histogram!("invitd_webhook_attempt_duration_seconds", "Time per webhook attempt");
    describe_gauge!("invitd_outbox_due", "Emails due and not yet sent");
    describe_gauge!(
        "invitd_outbox_oldest_due_age_seconds",
        "How long the longest-waiting due email has waited"
    );
    describe_gauge!("invitd_webhook_deliveries_due", "Webhook deliveries due and not yet made");
    describe_gauge!(
        "invitd_webhook_oldest_due_age_seconds",
        "How long the longest-waiting due delivery has waited"
    );
    describe_gauge!(
        "invitd_webhook_endpoints_disabled",
        "Webhook endpoints turned off (by an admin or after failing)"
    );
    describe_gauge!("invitd_database_up", "1 when the last scrape could read the database");
    describe_gauge!(
        "invitd_db_connections",
        "This process's database connections that serve traffic (SQLite: the readers and the writer thread's; PostgreSQL: the pool), in use and idle"
    );
    describe_gauge!(
        "invitd_db_writes_waiting",
        "Writes waiting to begin (for SQLite's writer thread, or for a PostgreSQL write turn)"
    );
    describe_gauge!(
        "invitd_db_writer_queue",
        "Writes queued on the SQLite writer thread, not yet answered"
    );
    describe_counter!(
        "invitd_db_writer_batches_total",
        "Transactions of the SQLite writer thread (group commits and units' sessions)"
    );
    describe_counter!(
        "invitd_db_writer_jobs_total",
        "Writes carried by the SQLite writer thread's transactions"
    );
    describe_gauge!("process_resident_memory_bytes", "Resident memory");
    describe_gauge!("process_open_fds", "Open file descriptors");
    describe_gauge!("process_cpu_seconds_total", "CPU time used, user and system");
}

/// One answered request.
pub fn http_request(method: &str, route: &str, status: u16, took: Duration) {
    let class = match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    };
    let labels = [("method", method.to_string()), ("route", route.to_string())];
    counter!(
        "invitd_http_requests_total",
        &[&labels[..], &[("status", class.to_string())]].concat()
    )
    .increment(1);
    histogram!("invitd_http_request_duration_seconds", &labels).record(took.as_secs_f64());
}

/// Invitations that went through a lifecycle event: `created`, `sent`,
/// `accepted`, `declined`, `revoked`, `expired`, `resent`,
/// `delivery_failed`.
pub fn invitations(event: &'static str, tenant: &str, n: u64) {
    if n == 0 {
        return;
    }
    if TENANT_LABEL.load(Ordering::Relaxed) {
        counter!("invitd_invitations_total", "event" => event, "tenant" => tenant.to_string())
            .increment(n);
    } else {
        counter!("invitd_invitations_total", "event" => event).increment(n);
    }
}

/// One email handed to the transport: `sent`, `retry` or `failed`.
pub fn email_send(outcome: &'static str, took: Duration) {
    counter!("invitd_email_sends_total", "outcome" => outcome).increment(1);
    histogram!("invitd_email_send_duration_seconds").record(took.as_secs_f64());
}

/// One webhook attempt: `delivered`, `retry` or `failed`.
pub fn webhook_attempt(outcome: &'static str, took: Duration) {
    counter!("invitd_webhook_attempts_total", "outcome" => outcome).increment(1);
    histogram!("invitd_webhook_attempt_duration_seconds").record(took.as_secs_f64());
}

/// Reads the gauges: waiting work, connections, the process.
async fn refresh(state: &AppState) {
    let now = state.clock.now();
    let age = |at: Option<time::OffsetDateTime>| {
        at.map_or(0.0, |at| (now - at).as_seconds_f64().max(0.0))
    };
    match state.store.backlog(now).await {
        Ok(b) => {
            gauge!("invitd_outbox_due").set(b.emails_due as f64);
            gauge!("invitd_outbox_oldest_due_age_seconds").set(age(b.oldest_email_due_at));
            gauge!("invitd_webhook_deliveries_due").set(b.webhooks_due as f64);
            gauge!("invitd_webhook_oldest_due_age_seconds").set(age(b.oldest_webhook_due_at));
            gauge!("invitd_webhook_endpoints_disabled").set(b.disabled_endpoints as f64);
            gauge!("invitd_database_up").set(1.0);
        }
        Err(e) => {
            tracing::debug!(error = %e, "metrics: backlog not read");
            gauge!("invitd_database_up").set(0.0);
        }
    }
    let pool = state.store.pool_stats();
    gauge!("invitd_db_connections", "state" => "in_use")
        .set(f64::from(pool.connections.saturating_sub(pool.idle)));
    gauge!("invitd_db_connections", "state" => "idle").set(f64::from(pool.idle));
    gauge!("invitd_db_writes_waiting").set(pool.writes_waiting as f64);
    gauge!("invitd_db_writer_queue").set(pool.writer_queue as f64);
    counter!("invitd_db_writer_batches_total").absolute(pool.writer_batches);
    counter!("invitd_db_writer_jobs_total").absolute(pool.writer_jobs);
    let process = process_stats();
    if let Some(rss) = process.rss_bytes {
        gauge!("process_resident_memory_bytes").set(rss as f64);
    }
    if let Some(fds) = process.open_fds {
        gauge!("process_open_fds").set(fds as f64);
    }
    if let Some(cpu) = process.cpu_seconds {
        gauge!("process_cpu_seconds_total").set(cpu);
    }
}

#[derive(Default)]
struct ProcessStats {
    rss_bytes: Option<u64>,
    open_fds: Option<u64>,
    cpu_seconds: Option<f64>,
}

/// The process's memory, files and CPU from `/proc` (nothing elsewhere).
fn process_stats() -> ProcessStats {
    let page = 4096u64;
    let rss_bytes = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map(|pages| pages * page);
    let open_fds = std::fs::read_dir("/proc/self/fd").ok().map(|d| d.count() as u64);
    // Fields 14 and 15 of /proc/self/stat, after the parenthesised name.
    let cpu_seconds = std::fs::read_to_string("/proc/self/stat").ok().and_then(|s| {
        let rest = &s[s.rfind(')')? + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
        Some(ticks / 100.0)
    });
    ProcessStats { rss_bytes, open_fds, cpu_seconds }
}

/// `GET /metrics`.
pub async fn scrape(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = state.config.metrics_token.as_deref() {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let ok = given.is_some_and(|g| {
            // Same work whatever the guess.
            g.len() == token.len()
                && g.bytes().zip(token.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
        });
        if !ok {
            let mut r =
                (StatusCode::UNAUTHORIZED, "metrics need the bearer token\n").into_response();
            r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return r;
        }
    }
    let Some(handle) = HANDLE.get().and_then(Option::as_ref) else {
        return (StatusCode::SERVICE_UNAVAILABLE, "metrics are not recorded in this process\n")
            .into_response();
    };
    // Gauges are process-wide: one scrape at a time reads and renders
    // them (several servers share a process only in tests).
    static SCRAPE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _one = SCRAPE.lock().await;
    refresh(&state).await;
    let mut r = handle.render().into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}
