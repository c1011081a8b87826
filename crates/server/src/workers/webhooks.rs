//! The webhook worker: sends due deliveries from the webhook outbox, with
//! retries, per-endpoint concurrency caps and a record of every attempt.

use crate::view::InvitationView;
use crate::webhooks::{PublicOnly, check_url, sign};
use futures::StreamExt;
use invitd_core::Clock;
use invitd_store::{Store, WebhookAttempt, WebhookJob, WebhookOutcome};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How the webhook worker behaves.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    pub allow_private: bool,
    pub schedule: Vec<time::Duration>,
    pub disable_after: time::Duration,
    pub timeout: Duration,
    pub per_endpoint: usize,
    pub lease: time::Duration,
    pub poll: Duration,
}

#[derive(Clone)]
pub struct WebhookWorker {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    client: reqwest::Client,
    config: WebhookConfig,
}

impl WebhookWorker {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        config: WebhookConfig,
    ) -> anyhow::Result<Self> {
        // No proxy from the environment (`HTTPS_PROXY`, `ALL_PROXY`): a
        // proxy would resolve the name itself, past the public-only resolver.
        let mut builder = reqwest::Client::builder()
            .no_proxy()
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("invitd/", env!("CARGO_PKG_VERSION")));
        if !config.allow_private {
            builder = builder.dns_resolver(Arc::new(PublicOnly));
        }
        Ok(Self { store, clock, client: builder.build()?, config })
    }

    /// One round: lease due deliveries and send them. How many were tried.
    pub async fn run_once(&self) -> Result<usize, invitd_store::StoreError> {
        let jobs = self
            .store
            .claim_webhooks(self.clock.now(), self.config.lease, 64, self.config.per_endpoint)
            .await?;
        let count = jobs.len();
        let results: Vec<Result<(), invitd_store::StoreError>> = futures::stream::iter(jobs)
            .map(|job| async move {
                let (attempt, outcome) = self.deliver(&job).await;
                self.store.finish_webhook(&job, &attempt, &outcome, self.config.disable_after).await
            })
            .buffer_unordered(16)
            .collect()
            .await;
        results.into_iter().collect::<Result<Vec<()>, _>>()?;
        Ok(count)
    }

    pub async fn run(self, shutdown: tokio::sync::watch::Receiver<bool>) {
        let poll = self.config.poll;
        super::run_rounds("webhook", poll, None, shutdown, || async {
            Ok(self.run_once().await? > 0)
        })
        .await;
    }

    async fn deliver(&self, job: &WebhookJob) -> (WebhookAttempt, WebhookOutcome) {
        let now = self.clock.now();
        let id = format!("evt_{}", job.event.id);
        let body = serde_json::to_vec(&payload(job)).unwrap_or_default();
        let timestamp = now.unix_timestamp();
        let started = Instant::now();
        let mut guard = Ok(());
        if !self.config.allow_private {
            guard = check_url(&job.endpoint.url, false).await;
        }
        let signature = sign(&job.endpoint.secret, &id, timestamp, &body);
        let result = match (guard, signature) {
            (Err(e), _) => Err(e),
            (Ok(()), Err(e)) => Err(e.to_string()),
            (Ok(()), Ok(signature)) => self
                .client
                .post(&job.endpoint.url)
                .header("content-type", "application/json")
                .header("webhook-id", &id)
                .header("webhook-timestamp", timestamp.to_string())
                .header("webhook-signature", signature)
                .body(body)
                .send()
                .await
                .map_err(|e| {
                    if e.is_timeout() {
                        "timed out".to_string()
                    } else {
                        format!("request failed: {e}")
                    }
                }),
        };
        let duration_ms = started.elapsed().as_millis() as u64;
        let (status_code, error) = match &result {
            Ok(resp) if resp.status().is_success() => (Some(resp.status().as_u16()), None),
            Ok(resp) => {
                (Some(resp.status().as_u16()), Some(format!("HTTP {}", resp.status().as_u16())))
            }
            Err(e) => (None, Some(e.clone())),
        };
        let outcome = if error.is_none() {
            WebhookOutcome::Delivered
        } else {
            match self.config.schedule.get(job.attempts as usize) {
                Some(wait) => {
                    let jitter = wait.as_seconds_f64() * 0.1 * rand::random::<f64>();
                    WebhookOutcome::Retry { at: now + *wait + time::Duration::seconds_f64(jitter) }
                }
                None => WebhookOutcome::Failed,
            }
        };
        let said = status_code.map_or_else(|| "-".to_string(), |c| c.to_string());
        match (&outcome, &error) {
            (WebhookOutcome::Delivered, _) => {
                tracing::info!(delivery_id = job.delivery_id, endpoint_id = %job.endpoint.id, event = %job.event.event_type, status = %said, duration_ms, "webhook delivered")
            }
            (WebhookOutcome::Retry { at }, Some(e)) => {
                tracing::info!(delivery_id = job.delivery_id, endpoint_id = %job.endpoint.id, event = %job.event.event_type, status = %said, error = %e, retry_at = %at, "webhook attempt failed; will retry")
            }
            (_, e) => {
                tracing::warn!(delivery_id = job.delivery_id, endpoint_id = %job.endpoint.id, event = %job.event.event_type, status = %said, error = e.as_deref().unwrap_or(""), "webhook delivery failed: no retries left")
            }
        }
        let outcome_word = match outcome {
            WebhookOutcome::Delivered => "delivered",
            WebhookOutcome::Retry { .. } => "retry",
            WebhookOutcome::Failed => "failed",
        };
        crate::metrics::webhook_attempt(outcome_word, started.elapsed());
        let attempt = WebhookAttempt {
            delivery_id: job.delivery_id,
            event_id: job.event.id,
            event_type: job.event.event_type.clone(),
            attempted_at: now,
            status_code,
            duration_ms,
            error,
        };
        (attempt, outcome)
    }
}

/// The body of a delivery: the event and the invitation as `/v1` shows it
/// (as it was at the event, never with its token).
pub fn payload(job: &WebhookJob) -> serde_json::Value {
    let e = &job.event;
    let invitation =
        e.snapshot.as_ref().map(|inv| InvitationView::with_write(inv, true, e.at, None));
    serde_json::json!({
        "id": format!("evt_{}", e.id),
        "type": e.event_type,
        "timestamp": e.at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        "tenant": job.endpoint.tenant_id.as_str(),
        "data": {
            "invitation": invitation,
            "actor": e.actor,
            "details": e.data,
        },
    })
}
