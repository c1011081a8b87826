//! Records the store reads and writes besides the invitation itself.

use invitd_core::{
    Actor, DeliveryResult, EventType, Hidden, Invitation, Language, RoleId, TenantId,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

mod webhooks;
pub use webhooks::*;

/// A tenant and its settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    pub language: Option<Language>,
    /// Invitation lifetime in days (1–30).
    pub lifetime_days: i64,
    pub resend_cooldown_secs: i64,
    pub max_resends: u32,
    pub resend_window_secs: i64,
    pub accept_redirect_url: Option<String>,
    /// Branding on the accept page: an https logo URL and an accent colour
    /// (`#rrggbb`).
    pub logo_url: Option<String>,
    pub accent_color: Option<String>,
    /// Signs the tickets handed to `accept_redirect_url`; shown only at
    /// creation and rotation.
    pub ticket_secret: Option<invitd_core::Secret>,
    /// Origins (`https://app.example.com`) an invitation's own
    /// `redirect_url` may point at, besides the origin of
    /// `accept_redirect_url`.
    pub allowed_redirect_origins: Vec<String>,
    /// Whether an answer by token with an `account_email` other than the
    /// invited address is refused (else the address is only recorded).
    pub require_matching_email: bool,
    /// New invitations per rolling 24 hours, in all and per inviter
    /// (`inviter_account_id`); `None`: the operator's default, if any.
    pub invitations_per_day: Option<u32>,
    pub invitations_per_inviter_per_day: Option<u32>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl Tenant {
    pub fn resend_policy(&self) -> invitd_core::ResendPolicy {
        invitd_core::ResendPolicy {
            cooldown: time::Duration::seconds(self.resend_cooldown_secs),
            max_resends: self.max_resends,
            window: time::Duration::seconds(self.resend_window_secs),
            lifetime: time::Duration::days(self.lifetime_days),
        }
    }
}

/// A role in a tenant's catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub id: RoleId,
    pub name: String,
    pub rank: i32,
}

/// A console session: the key it acts as (by the hash of its secret, as
/// `api_keys` keeps it) and its times. The session's own id is never
/// stored, only its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSession {
    pub key_hash: invitd_core::SecretHash,
    pub created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
}

/// An API key, without its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: Uuid,
    pub name: String,
    pub scopes: Vec<String>,
    /// `None`: every tenant.
    pub tenants: Option<Vec<TenantId>>,
    /// The first characters of the secret, to tell keys apart.
    pub hint: String,
    pub created_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
}

/// Who is acting, and from where; recorded with every event.
#[derive(Debug, Clone)]
pub struct Audit {
    pub actor: Actor,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl Audit {
    /// The background workers.
    pub fn system() -> Self {
        Self { actor: Actor::System, ip: None, user_agent: None }
    }

    /// Someone at the command line on the server.
    pub fn operator() -> Self {
        Self { actor: Actor::Operator, ip: None, user_agent: None }
    }
}

/// One audit event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: i64,
    pub tenant_id: Option<TenantId>,
    pub invitation_id: Option<Uuid>,
    pub event_type: String,
    pub actor: Actor,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub at: OffsetDateTime,
    pub data: serde_json::Value,
    /// The invitation as it was when the event happened.
    pub snapshot: Option<Invitation>,
}

/// Which events to list (newest first).
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// A tenant's events; `None`: the installation's own (API keys).
    pub tenant: Option<TenantId>,
    pub event_type: Option<String>,
    pub invitation: Option<Uuid>,
    pub after: Option<OffsetDateTime>,
    pub before: Option<OffsetDateTime>,
    /// Only events with an id below this (the cursor).
    pub before_id: Option<i64>,
    pub limit: u32,
}

/// An email to put in the outbox. `payload` is what the mail layer renders
/// from; it holds the accept link, so the store clears it once sent, and
/// `Debug` shows it as `***`.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct OutboxEmail {
    pub kind: String,
    pub payload: Hidden<serde_json::Value>,
}

/// An invitation to insert (its `number` is assigned by the store) with its
/// email, if one is to be sent.
#[derive(Debug, Clone)]
pub struct NewInvitation {
    pub invitation: Invitation,
    pub email: Option<OutboxEmail>,
}

/// The fate of one [`NewInvitation`].
#[derive(Debug, Clone)]
pub enum CreateOutcome {
    Created(Box<Invitation>),
    AlreadyPending {
        email: String,
    },
    /// Refused: `limit` already counts this many invitations created in
    /// the last [`Quota::WINDOW`]; one more fits at `retry_at`.
    QuotaExceeded {
        email: String,
        limit: QuotaLimit,
        retry_at: OffsetDateTime,
    },
}

/// The limits a create call is held to: invitations created in the
/// tenant, and by one inviter (`inviter_account_id`) in it, in the last
/// [`Quota::WINDOW`]. `None`: unlimited. Checked in the transaction of the
/// inserts, so concurrent calls (in any process) never exceed them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Quota {
    pub per_day: Option<u32>,
    pub per_inviter_per_day: Option<u32>,
}

impl Quota {
    /// The rolling window both limits count in.
    pub const WINDOW: time::Duration = time::Duration::hours(24);

    /// No limit at all: the create does not count.
    pub fn is_unlimited(&self) -> bool {
        self.per_day.is_none() && self.per_inviter_per_day.is_none()
    }
}

/// Which limit of a [`Quota`] refused an invitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaLimit {
    /// The tenant's `per_day`, this many.
    Tenant(u32),
    /// The inviter's `per_inviter_per_day`, this many.
    Inviter(u32),
}

/// What a transition writes.
#[derive(Debug, Clone)]
pub struct Transition {
    pub updated: Invitation,
    /// When the transition happens (the time the decision was made with).
    pub at: OffsetDateTime,
    pub event: EventType,
    pub event_data: serde_json::Value,
    /// An email to queue. Any unsent email of the invitation is dropped
    /// when one is queued or the token changes, because its link no longer
    /// works.
    pub email: Option<OutboxEmail>,
}

/// The invitation a transition applies to.
#[derive(Debug, Clone)]
pub enum Target {
    Id {
        tenant: TenantId,
        id: Uuid,
    },
    /// By token hash; only the current token matches.
    Token(invitd_core::SecretHash),
}

/// What a token hash points at.
#[derive(Debug, Clone)]
pub enum TokenMatch {
    Current(Box<Invitation>),
    /// The token was replaced by a resend.
    Replaced(Box<Invitation>),
    Unknown,
}

/// Filters for listing invitations. `status` is the effective status.
#[derive(Debug, Clone, Default)]
pub struct InvitationFilter {
    pub status: Option<invitd_core::Status>,
    pub email_normalized: Option<String>,
    pub role: Option<RoleId>,
    pub created_after: Option<OffsetDateTime>,
    pub created_before: Option<OffsetDateTime>,
    /// Only invitations with a number below this (the cursor).
    pub before_number: Option<i64>,
    pub limit: u32,
}

/// Filters for listing one address's invitations across tenants, newest
/// first. `status` is the effective status.
#[derive(Debug, Clone, Default)]
pub struct AddressFilter {
    pub email_normalized: String,
    /// The tenants to look in; `None`: every tenant.
    pub tenants: Option<Vec<TenantId>>,
    pub status: Option<invitd_core::Status>,
    /// Only invitations with a number below this (the cursor).
    pub before_number: Option<i64>,
    pub limit: u32,
}

/// A leased outbox row. `Debug` leaves out the payload (it holds the
/// accept link).
#[derive(Clone, Debug)]
pub struct OutboxItem {
    pub id: i64,
    pub invitation_id: Uuid,
    pub tenant_id: TenantId,
    pub kind: String,
    pub attempts: u32,
    pub payload: Hidden<serde_json::Value>,
}

/// How a delivery attempt went.
#[derive(Debug, Clone, PartialEq)]
pub enum DeliveryOutcome {
    /// Accepted; `reply` is what the server said.
    Sent { reply: String },
    /// Try again at `retry_at`.
    Retry { error: String, retry_at: OffsetDateTime },
    /// Give up.
    Failed { error: String },
}

impl DeliveryOutcome {
    /// What the attempt means for its invitation.
    pub fn result(&self) -> DeliveryResult<'_> {
        match self {
            DeliveryOutcome::Sent { .. } => DeliveryResult::Sent,
            DeliveryOutcome::Retry { error, .. } => DeliveryResult::WillRetry { error },
            DeliveryOutcome::Failed { error } => DeliveryResult::Failed { error },
        }
    }
}

/// One recorded delivery attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryAttempt {
    pub outbox_id: i64,
    /// `invitation` or `resend`.
    pub kind: String,
    pub attempted_at: OffsetDateTime,
    /// `sent`, `retry` or `failed`.
    pub outcome: String,
    /// The server's reply, or the error.
    pub detail: String,
}

/// The answer stored for a request with an `Idempotency-Key`.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAnswer {
    /// SHA-256 of the request body it answered.
    pub request_hash: Vec<u8>,
    pub status: u16,
    pub body: Vec<u8>,
}

/// The answer to store with a unit's writes.
#[derive(Debug, Clone, Copy)]
pub struct IdempotentAnswer<'a> {
    /// Who asked and where: the API key's hash, the method and the path.
    pub scope: &'a str,
    pub key: &'a str,
    pub request_hash: &'a [u8; 32],
    pub status: u16,
    pub body: &'a [u8],
    pub now: time::OffsetDateTime,
}

/// How a unit ended.
#[derive(Debug, Clone, PartialEq)]
pub enum UnitOutcome {
    /// Its writes (and answer) are committed.
    Committed,
    /// Another request answered the same key first; this unit's writes were
    /// rolled back, and this is the answer that stands.
    Taken(StoredAnswer),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_leaves_out_accept_links() {
        let email = OutboxEmail {
            kind: "invitation".into(),
            payload: serde_json::json!({"accept_url": "https://x/i/SECRET"}).into(),
        };
        assert!(!format!("{email:?}").contains("SECRET"));
        let item = OutboxItem {
            id: 1,
            invitation_id: Uuid::nil(),
            tenant_id: TenantId::parse("t").unwrap(),
            kind: "invitation".into(),
            attempts: 0,
            payload: email.payload.clone(),
        };
        assert!(!format!("{item:?}").contains("SECRET"));
    }
}
