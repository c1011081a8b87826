//! The invitation as the API shows it: the one view `/v1` answers with and
//! the webhook worker puts in its payloads (from the event's snapshot), so
//! the two can never disagree.

use crate::auth::{Caller, Scope};
use invitd_core::{Invitation, Status};
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// Who invited.
#[derive(Debug, Serialize, ToSchema)]
pub struct InviterView {
    pub account_id: Option<String>,
    pub email: Option<String>,
}

/// Where the invitation email is.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    /// `queued`, `sent`, `failed`, or `not_sent` (the host app delivers
    /// the link itself).
    pub state: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub sent_at: Option<OffsetDateTime>,
}

/// What the caller may do with the invitation now.
#[derive(Debug, Serialize, ToSchema)]
pub struct CapabilitiesView {
    pub can_resend: bool,
    pub can_revoke: bool,
    /// It is pending and the caller may change it (`PATCH`: roles,
    /// message, metadata, expiry).
    pub can_change_roles: bool,
}

/// An invitation.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationView {
    pub id: Uuid,
    /// Per-installation integer id (the workspace and tenant-admin APIs use it).
    pub number: i64,
    pub tenant_id: String,
    pub email: String,
    pub roles: Vec<String>,
    pub location_ids: Vec<String>,
    pub message: Option<String>,
    pub purpose: Option<String>,
    pub language: Option<String>,
    #[schema(value_type = Object)]
    pub metadata: serde_json::Value,
    pub inviter: InviterView,
    /// As of now: a pending invitation past its expiry reads `expired`.
    #[schema(value_type = String, example = "pending")]
    pub status: Status,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_sent_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub accepted_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub declined_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    /// The account that accepted, when the host app said.
    pub accepted_by: Option<String>,
    /// The address the host app had verified for that account, when it said.
    pub accepted_email: Option<String>,
    /// This invitation's landing page after accepting, when it has its own.
    pub redirect_url: Option<String>,
    pub resend_count: u32,
    pub delivery: DeliveryView,
    pub capabilities: CapabilitiesView,
    /// The link to accept; only in the answer of the call that minted it
    /// (create, resend).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accept_url: Option<String>,
}

impl InvitationView {
    pub fn new(
        inv: &Invitation,
        caller: &Caller,
        now: OffsetDateTime,
        accept_url: Option<String>,
    ) -> Self {
        Self::with_write(inv, caller.has(Scope::InvitesWrite), now, accept_url)
    }

    /// The view for a reader who may (or may not) change invitations.
    pub fn with_write(
        inv: &Invitation,
        can_write: bool,
        now: OffsetDateTime,
        accept_url: Option<String>,
    ) -> Self {
        let status = inv.status_at(now);
        let open = inv.is_open_at(now);
        Self {
            id: inv.id,
            number: inv.number,
            tenant_id: inv.tenant_id.to_string(),
            email: inv.email.clone(),
            roles: inv.roles.iter().map(|r| r.to_string()).collect(),
            location_ids: inv.location_ids.clone(),
            message: inv.message.clone(),
            purpose: inv.purpose.clone(),
            language: inv.language.clone(),
            metadata: inv.metadata.clone(),
            inviter: InviterView {
                account_id: inv.inviter_account_id.clone(),
                email: inv.inviter_email.clone(),
            },
            status,
            created_at: inv.created_at,
            expires_at: inv.expires_at,
            last_sent_at: inv.last_sent_at,
            accepted_at: inv.accepted_at,
            declined_at: inv.declined_at,
            revoked_at: inv.revoked_at,
            accepted_by: inv.accepted_by.clone(),
            accepted_email: inv.accepted_email.clone(),
            redirect_url: inv.redirect_url.clone(),
            resend_count: inv.resend_count,
            delivery: DeliveryView {
                state: inv.delivery_state.as_str().into(),
                attempts: inv.delivery_attempts,
                last_error: inv.delivery_last_error.clone(),
                sent_at: inv.delivery_sent_at,
            },
            capabilities: CapabilitiesView {
                can_resend: open && can_write,
                can_revoke: open && can_write,
                can_change_roles: status == Status::Pending && can_write,
            },
            accept_url,
        }
    }
}
