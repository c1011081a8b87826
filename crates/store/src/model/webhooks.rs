//! Webhook records: endpoints, the deliveries leased to the worker, their
//! attempts and outcomes, an invitation's deliveries, a queued test event.

use super::Event;
use invitd_core::TenantId;
use time::OffsetDateTime;
use uuid::Uuid;

/// A tenant's webhook endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEndpoint {
    pub id: Uuid,
    pub tenant_id: TenantId,
    pub url: String,
    /// `whsec_…`: signs every delivery; shown at creation and rotation only.
    pub secret: invitd_core::Secret,
    /// Subscribed event types; empty: all of them.
    pub event_types: Vec<String>,
    pub enabled: bool,
    /// Why invitd disabled it, if it did.
    pub disabled_reason: Option<String>,
    /// Start of the current run of failed attempts.
    pub failing_since: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// A leased webhook delivery.
#[derive(Debug, Clone)]
pub struct WebhookJob {
    pub delivery_id: i64,
    /// Attempts made before this one.
    pub attempts: u32,
    pub endpoint: WebhookEndpoint,
    pub event: Event,
}

/// One attempt to deliver a webhook.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookAttempt {
    pub delivery_id: i64,
    pub event_id: i64,
    pub event_type: String,
    pub attempted_at: OffsetDateTime,
    /// The receiver's HTTP status, when it answered.
    pub status_code: Option<u16>,
    pub duration_ms: u64,
    pub error: Option<String>,
}

/// One webhook delivery of an invitation's event, with its latest attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct InvitationWebhookDelivery {
    pub delivery_id: i64,
    pub endpoint_id: Uuid,
    pub endpoint_url: String,
    pub event_id: i64,
    pub event_type: String,
    /// `pending`, `delivered`, `failed` or `abandoned`.
    pub state: String,
    pub attempts: u32,
    pub created_at: OffsetDateTime,
    pub delivered_at: Option<OffsetDateTime>,
    /// The most recent attempt, once one was made.
    pub last_attempt: Option<WebhookAttempt>,
}

/// A test event queued for one endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueuedTest {
    /// The `webhook.test` event (its `webhook-id` is `evt_<id>`).
    pub event_id: i64,
    /// Its one delivery, to the endpoint asked for.
    pub delivery_id: i64,
}

/// What becomes of a delivery after an attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum WebhookOutcome {
    Delivered,
    Retry { at: OffsetDateTime },
    Failed,
}
