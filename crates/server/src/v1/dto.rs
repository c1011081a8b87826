//! The `/v1` response shapes: snake_case, RFC 3339 times, never a token
//! except the `accept_url` of the call that minted it.

pub use crate::view::{CapabilitiesView, DeliveryView, InvitationView, InviterView};
use invitd_store::{ApiKey, Event, Role, Tenant};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// The answer to a create call.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreateInvitationsResponse {
    pub invitations: Vec<InvitationView>,
    pub failures: Vec<crate::service::invitations::Failure>,
}

/// One page of invitations, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationPage {
    pub invitations: Vec<InvitationView>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// A token presented by a host app that renders its own accept page.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// The token of the accept link (`/i/<token>`).
    pub token: String,
    #[schema(schema_with = crate::openapi::fields::accepting_account_id)]
    pub account_id: Option<String>,
}

/// An answer (accept or decline) by the token of a link, from a host app
/// that renders its own page.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerRequest {
    /// The token of the accept link (`/i/<token>`).
    pub token: String,
    #[schema(schema_with = crate::openapi::fields::accepting_account_id)]
    pub account_id: Option<String>,
    #[schema(schema_with = crate::openapi::fields::account_email)]
    pub account_email: Option<String>,
}

/// A tenant and its settings.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantView {
    pub id: String,
    pub name: String,
    pub language: Option<String>,
    pub invitation_lifetime_days: i64,
    pub resend_cooldown_seconds: i64,
    pub max_resends: u32,
    pub resend_window_seconds: i64,
    pub accept_redirect_url: Option<String>,
    pub logo_url: Option<String>,
    pub accent_color: Option<String>,
    /// Origins an invitation's own `redirect_url` may point at (besides the
    /// origin of `accept_redirect_url`).
    pub allowed_redirect_origins: Vec<String>,
    /// Whether an answer by token with another `account_email` than the
    /// invited address is refused.
    pub require_matching_email: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<&Tenant> for TenantView {
    fn from(t: &Tenant) -> Self {
        Self {
            id: t.id.to_string(),
            name: t.name.clone(),
            language: t.language.as_ref().map(|l| l.to_string()),
            invitation_lifetime_days: t.lifetime_days,
            resend_cooldown_seconds: t.resend_cooldown_secs,
            max_resends: t.max_resends,
            resend_window_seconds: t.resend_window_secs,
            accept_redirect_url: t.accept_redirect_url.clone(),
            logo_url: t.logo_url.clone(),
            accent_color: t.accent_color.clone(),
            allowed_redirect_origins: t.allowed_redirect_origins.clone(),
            require_matching_email: t.require_matching_email,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

/// A role of a tenant.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleView {
    pub id: String,
    pub name: String,
    pub rank: i32,
}

impl From<&Role> for RoleView {
    fn from(r: &Role) -> Self {
        Self { id: r.id.to_string(), name: r.name.clone(), rank: r.rank }
    }
}

/// The role catalogue.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleList {
    pub roles: Vec<RoleView>,
}

/// An API key (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyView {
    pub id: Uuid,
    pub name: String,
    pub scopes: Vec<String>,
    /// Null: all tenants.
    pub tenants: Option<Vec<String>>,
    /// The first characters of the secret, to tell keys apart.
    pub hint: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
}

impl From<&ApiKey> for KeyView {
    fn from(k: &ApiKey) -> Self {
        Self {
            id: k.id,
            name: k.name.clone(),
            scopes: k.scopes.clone(),
            tenants: k.tenants.as_ref().map(|ts| ts.iter().map(|t| t.to_string()).collect()),
            hint: k.hint.clone(),
            created_at: k.created_at,
            revoked_at: k.revoked_at,
        }
    }
}

/// A new key with its secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedKey {
    #[serde(flatten)]
    pub key: KeyView,
    /// The secret: send it as `Authorization: Bearer <secret>`. It is not
    /// stored and cannot be shown again.
    pub secret: String,
}

/// The list of keys.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyList {
    pub keys: Vec<KeyView>,
}

/// One audit event.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    pub id: i64,
    /// `invitation.created`, `invitation.sent`, `invitation.accepted`, …
    #[serde(rename = "type")]
    pub event_type: String,
    /// `{"kind": "api_key", "id", "name"}`, `{"kind": "invitee", "account_id"}` or `{"kind": "system"}`.
    #[schema(value_type = Object)]
    pub actor: invitd_core::Actor,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

impl From<&Event> for EventView {
    fn from(e: &Event) -> Self {
        Self {
            id: e.id,
            event_type: e.event_type.clone(),
            actor: e.actor.clone(),
            ip: e.ip.clone(),
            user_agent: e.user_agent.clone(),
            at: e.at,
            data: e.data.clone(),
        }
    }
}

/// The audit trail of one invitation, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventList {
    pub events: Vec<EventView>,
}

/// One attempt to deliver one of the invitation's emails.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryAttemptView {
    /// The outbox row; a resend queues a new one.
    pub email_id: i64,
    /// `invitation` or `resend`.
    pub kind: String,
    #[serde(with = "time::serde::rfc3339")]
    pub attempted_at: OffsetDateTime,
    /// `sent`, `retry` or `failed`.
    pub outcome: String,
    /// The mail server's reply, or the error.
    pub detail: String,
}

impl From<&invitd_store::DeliveryAttempt> for DeliveryAttemptView {
    fn from(a: &invitd_store::DeliveryAttempt) -> Self {
        Self {
            email_id: a.outbox_id,
            kind: a.kind.clone(),
            attempted_at: a.attempted_at,
            outcome: a.outcome.clone(),
            detail: a.detail.clone(),
        }
    }
}

/// Every delivery attempt of an invitation's emails, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryAttemptList {
    pub attempts: Vec<DeliveryAttemptView>,
}

/// A new tenant, with the secret that signs its accept tickets (shown this
/// once; `POST /v1/tenants/{tenant}/ticket-secret` replaces it).
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedTenant {
    #[serde(flatten)]
    pub tenant: TenantView,
    pub ticket_secret: String,
}

/// A tenant's new ticket secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketSecret {
    pub ticket_secret: String,
}
