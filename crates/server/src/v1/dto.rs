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
    /// The tenant's own quota of new invitations per rolling 24 hours;
    /// null: the operator's default (unlimited unless set). `usage` on
    /// `GET /v1/tenants/{tenant}` shows the limit in force.
    pub invitations_per_day: Option<u32>,
    /// The same, per `inviter.account_id`.
    pub invitations_per_inviter_per_day: Option<u32>,
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
            invitations_per_day: t.invitations_per_day,
            invitations_per_inviter_per_day: t.invitations_per_inviter_per_day,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

/// A tenant, with how much of its quotas the last 24 hours used.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantWithUsage {
    #[serde(flatten)]
    pub tenant: TenantView,
    pub usage: UsageView,
}

/// The quotas in force (the tenant's own, else the operator's defaults)
/// and what is left of them: invitations created in the last
/// `window_seconds` count, whatever became of them since.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsageView {
    /// 86400: the rolling window both limits count in.
    pub window_seconds: i64,
    pub invitations_per_day: AllowanceView,
    /// The limit; the use is shown for the inviter named by the query's
    /// `inviter_account_id` (else null).
    pub invitations_per_inviter_per_day: InviterAllowanceView,
}

/// One limit and its use.
#[derive(Debug, Serialize, ToSchema)]
pub struct AllowanceView {
    /// Null: unlimited.
    pub limit: Option<u32>,
    /// Invitations created in the window.
    pub used: u64,
    /// How many more may be created now; null when unlimited.
    pub remaining: Option<u64>,
}

/// The per-inviter limit, and one inviter's use of it.
#[derive(Debug, Serialize, ToSchema)]
pub struct InviterAllowanceView {
    /// Null: unlimited.
    pub limit: Option<u32>,
    /// The inviter asked about; null when none was.
    pub account_id: Option<String>,
    pub used: Option<u64>,
    pub remaining: Option<u64>,
}

impl From<&crate::service::quotas::Usage> for UsageView {
    fn from(u: &crate::service::quotas::Usage) -> Self {
        let inviter = u.inviter.as_ref();
        Self {
            window_seconds: invitd_store::Quota::WINDOW.whole_seconds(),
            invitations_per_day: AllowanceView {
                limit: u.tenant.limit,
                used: u.tenant.used,
                remaining: u.tenant.remaining,
            },
            invitations_per_inviter_per_day: InviterAllowanceView {
                limit: u.inviter_limit,
                account_id: inviter.map(|(id, _)| id.clone()),
                used: inviter.map(|(_, a)| a.used),
                remaining: inviter.and_then(|(_, a)| a.remaining),
            },
        }
    }
}

/// `GET /v1/tenants/{tenant}`'s query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TenantQuery {
    /// Show this inviter's use of the per-inviter quota in `usage`.
    #[param(min_length = 1, max_length = 200)]
    pub inviter_account_id: Option<String>,
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
