//! The outbox worker: leases due emails, renders and sends them, records
//! each outcome. A crash at any point loses nothing: a leased row whose
//! worker died becomes due again when its lease runs out.

use futures::StreamExt;
use invitd_core::Clock;
use invitd_mail::{InvitationEmail, MailError, Mailer, Templates};
use invitd_store::{DeliveryOutcome, OutboxItem, Store};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// How a worker behaves.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Waits between attempts: after the first failure, the first entry, and
    /// so on; when they run out the email is marked failed.
    pub backoff: Vec<time::Duration>,
    /// How long a leased email is ours before another worker may take it.
    pub lease: time::Duration,
    /// Emails leased per round.
    pub batch: u32,
    /// Emails sent at the same time.
    pub concurrency: usize,
    /// How often to look for due emails when nobody wakes the worker.
    pub poll: Duration,
    pub from: String,
    /// Host part of the Message-IDs.
    pub message_id_host: String,
}

impl WorkerConfig {
    /// The worker a configuration asks for.
    pub fn from_config(config: &crate::config::Config) -> Self {
        let host = config
            .public_url
            .split("://")
            .nth(1)
            .unwrap_or("invitd.local")
            .split(['/', ':'])
            .next()
            .filter(|h| !h.is_empty())
            .unwrap_or("invitd.local")
            .to_string();
        Self {
            backoff: config.mail_retry_schedule.clone(),
            lease: config.mail_lease,
            batch: 64,
            concurrency: config.mail_concurrency,
            poll: Duration::from_secs(1),
            from: config.mail_from.clone(),
            message_id_host: host,
        }
    }
}

#[derive(Clone)]
pub struct OutboxWorker {
    store: Arc<dyn Store>,
    mailer: Arc<dyn Mailer>,
    templates: Arc<Templates>,
    clock: Arc<dyn Clock>,
    config: WorkerConfig,
}

impl OutboxWorker {
    pub fn new(
        store: Arc<dyn Store>,
        mailer: Arc<dyn Mailer>,
        templates: Arc<Templates>,
        clock: Arc<dyn Clock>,
        config: WorkerConfig,
    ) -> Self {
        Self { store, mailer, templates, clock, config }
    }

    /// One round: lease the due emails and deliver them. Returns how many
    /// were handled (sent, retried or failed).
    pub async fn run_once(&self) -> Result<usize, invitd_store::StoreError> {
        let items =
            self.store.claim_outbox(self.clock.now(), self.config.lease, self.config.batch).await?;
        let count = items.len();
        let results: Vec<Result<(), invitd_store::StoreError>> = futures::stream::iter(items)
            .map(|item| async move {
                let started = std::time::Instant::now();
                let outcome = self.deliver(&item).await;
                let (send, event) = match &outcome {
                    DeliveryOutcome::Sent { .. } => ("sent", Some("sent")),
                    DeliveryOutcome::Retry { .. } => ("retry", None),
                    DeliveryOutcome::Failed { .. } => ("failed", Some("delivery_failed")),
                };
                crate::metrics::email_send(send, started.elapsed());
                self.store.finish_outbox(&item, &outcome, self.clock.now()).await?;
                if let Some(event) = event {
                    crate::metrics::invitations(event, item.tenant_id.as_str(), 1);
                }
                Ok(())
            })
            .buffer_unordered(self.config.concurrency.max(1))
            .collect()
            .await;
        // A row whose outcome could not be recorded is tried again when its
        // lease runs out.
        results.into_iter().collect::<Result<Vec<()>, _>>()?;
        Ok(count)
    }

    /// Runs until `shutdown` resolves, waking on `notify` or every poll.
    pub async fn run(self, notify: Arc<Notify>, shutdown: tokio::sync::watch::Receiver<bool>) {
        let poll = self.config.poll;
        super::run_rounds("outbox", poll, Some(notify), shutdown, || async {
            Ok(self.run_once().await? > 0)
        })
        .await;
    }

    async fn deliver(&self, item: &OutboxItem) -> DeliveryOutcome {
        let message_id =
            format!("<outbox-{}.{}@{}>", item.id, item.invitation_id, self.config.message_id_host);
        let result = match serde_json::from_value::<InvitationEmail>(item.payload.0.clone()) {
            Ok(data) => match self.templates.render(&data, &self.config.from, &message_id) {
                Ok(email) => self.mailer.send(&email).await,
                Err(e) => Err(e),
            },
            Err(e) => Err(MailError::Permanent(format!("unreadable outbox payload: {e}"))),
        };
        match result {
            Ok(reply) => {
                tracing::info!(outbox_id = item.id, invitation_id = %item.invitation_id, kind = %item.kind, %reply, "email sent");
                DeliveryOutcome::Sent { reply }
            }
            Err(MailError::Permanent(error)) => {
                tracing::warn!(outbox_id = item.id, %error, "email failed permanently");
                DeliveryOutcome::Failed { error }
            }
            Err(MailError::Temporary(error)) => {
                match self.config.backoff.get(item.attempts as usize) {
                    Some(wait) => {
                        // Up to 20% jitter, so a burst of failures does not
                        // retry in lockstep.
                        let jitter = wait.as_seconds_f64() * 0.2 * rand::random::<f64>();
                        let retry_at =
                            self.clock.now() + *wait + time::Duration::seconds_f64(jitter);
                        tracing::info!(outbox_id = item.id, %error, %retry_at, "email will be retried");
                        DeliveryOutcome::Retry { error, retry_at }
                    }
                    None => {
                        tracing::warn!(outbox_id = item.id, %error, "email failed: no retries left");
                        DeliveryOutcome::Failed { error }
                    }
                }
            }
        }
    }
}
