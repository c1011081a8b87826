//! The invitation and its lifecycle, as a pure state machine: every
//! transition takes the current record and the time, and answers either the
//! new record or the reason it is refused.

use crate::ids::{EmailAddress, Language, RoleId, TenantId};
use crate::secret::SecretHash;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

mod change;
mod status;
pub use change::Changes;
pub use status::{DeliveryResult, DeliveryState, Status};

/// Who did something.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Actor {
    /// A caller authenticated by an API key (or the operator's CLI, which
    /// appears as a key named `cli`).
    ApiKey { id: Uuid, name: String },
    /// The person invited, holding the token.
    Invitee { account_id: Option<String> },
    /// invitd itself (the outbox worker, the expiry sweep).
    System,
    /// The operator, through the `invitd` command line.
    Operator,
}

/// One invitation, as stored. `status` is the stored status; callers must
/// read [`Invitation::status_at`], which turns a pending invitation past its
/// expiry into `expired` before any sweep has recorded it.
/// Serializes to the record as stored (for event snapshots), never with
/// the token hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invitation {
    pub id: Uuid,
    pub number: i64,
    pub tenant_id: TenantId,
    pub email: String,
    pub email_normalized: String,
    pub roles: Vec<RoleId>,
    pub location_ids: Vec<String>,
    pub message: Option<String>,
    pub purpose: Option<String>,
    pub language: Option<String>,
    pub metadata: serde_json::Value,
    pub inviter_account_id: Option<String>,
    pub inviter_email: Option<String>,
    pub status: Status,
    #[serde(skip)]
    pub token_hash: SecretHash,
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
    pub accepted_by: Option<String>,
    pub resend_count: u32,
    /// Start of the current resend window and resends inside it.
    #[serde(with = "time::serde::rfc3339::option")]
    pub resend_window_start: Option<OffsetDateTime>,
    pub resend_window_count: u32,
    pub delivery_state: DeliveryState,
    pub delivery_attempts: u32,
    pub delivery_last_error: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub delivery_sent_at: Option<OffsetDateTime>,
    /// Where the accept page sends the invitee (with the ticket) instead of
    /// the tenant's redirect URL.
    #[serde(default)]
    pub redirect_url: Option<String>,
    /// The address the host app had verified for the account that accepted.
    #[serde(default)]
    pub accepted_email: Option<String>,
}

/// What an inviter decides for a batch of invitations; each address of the
/// batch becomes one pending invitation with these terms.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub tenant_id: TenantId,
    pub roles: Vec<RoleId>,
    pub location_ids: Vec<String>,
    pub message: Option<String>,
    pub purpose: Option<String>,
    /// The language of its emails and pages; absent: the tenant's.
    pub language: Option<Language>,
    pub metadata: serde_json::Value,
    pub inviter_account_id: Option<String>,
    pub inviter_email: Option<String>,
    /// How long the invitation stays open.
    pub lifetime: Duration,
}

/// A tenant's resend rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResendPolicy {
    /// Least time between two sends of one invitation.
    pub cooldown: Duration,
    /// Most resends inside one `window`.
    pub max_resends: u32,
    /// The window that `max_resends` counts in; it starts at the first
    /// resend after the previous window ended.
    pub window: Duration,
    /// How far a resend moves the expiry: now plus this.
    pub lifetime: Duration,
}

/// Why a transition is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    #[error("the invitation has expired")]
    Expired,
    #[error("the invitation was already accepted")]
    AlreadyAccepted,
    #[error("the invitation was already declined")]
    AlreadyDeclined,
    #[error("the invitation was revoked")]
    Revoked,
    #[error("the invitation was sent too recently; retry in {retry_after_secs} s")]
    ResendCooldown { retry_after_secs: u64 },
    #[error("the invitation was resent too many times; retry in {retry_after_secs} s")]
    ResendLimit { retry_after_secs: u64 },
}

fn refuse_final(status: Status) -> LifecycleError {
    match status {
        Status::Accepted => LifecycleError::AlreadyAccepted,
        Status::Declined => LifecycleError::AlreadyDeclined,
        Status::Revoked => LifecycleError::Revoked,
        Status::Expired => LifecycleError::Expired,
        // Pending is never final; callers only pass final statuses.
        Status::Pending => LifecycleError::Expired,
    }
}

fn secs_until(now: OffsetDateTime, at: OffsetDateTime) -> u64 {
    let secs = (at - now).as_seconds_f64().ceil();
    if secs < 1.0 { 1 } else { secs as u64 }
}

impl Invitation {
    /// A new invitation of `email` on `draft`'s terms: pending, its first
    /// email queued (and counted as sent) at `now`, open for the draft's
    /// lifetime. The store numbers it when it is saved.
    pub fn new_pending(
        draft: &Draft,
        email: &EmailAddress,
        token_hash: SecretHash,
        now: OffsetDateTime,
    ) -> Invitation {
        Invitation {
            id: Uuid::now_v7(),
            number: 0,
            tenant_id: draft.tenant_id.clone(),
            email: email.as_given().to_string(),
            email_normalized: email.normalized().to_string(),
            roles: draft.roles.clone(),
            location_ids: draft.location_ids.clone(),
            message: draft.message.clone(),
            purpose: draft.purpose.clone(),
            language: draft.language.as_ref().map(|l| l.as_str().to_string()),
            metadata: draft.metadata.clone(),
            inviter_account_id: draft.inviter_account_id.clone(),
            inviter_email: draft.inviter_email.clone(),
            status: Status::Pending,
            token_hash,
            created_at: now,
            expires_at: now + draft.lifetime,
            last_sent_at: Some(now),
            accepted_at: None,
            declined_at: None,
            revoked_at: None,
            accepted_by: None,
            resend_count: 0,
            resend_window_start: None,
            resend_window_count: 0,
            delivery_state: DeliveryState::Queued,
            delivery_attempts: 0,
            delivery_last_error: None,
            delivery_sent_at: None,
            redirect_url: None,
            accepted_email: None,
        }
    }

    /// The same invitation with no email to send: the host app hands the
    /// link over itself, so nothing is queued and nothing counts as sent.
    pub fn without_email(self) -> Invitation {
        Invitation { delivery_state: DeliveryState::NotSent, last_sent_at: None, ..self }
    }

    /// Whether `email` is the invited address (compared normalized).
    pub fn is_for(&self, email: &EmailAddress) -> bool {
        email.normalized() == self.email_normalized
    }

    /// The invited address with its local part hidden but for its first
    /// character: `a***@example.com`.
    pub fn masked_email(&self) -> String {
        let (local, domain) =
            self.email_normalized.rsplit_once('@').unwrap_or((&self.email_normalized, ""));
        let first: String = local.chars().take(1).collect();
        format!("{first}***@{domain}")
    }

    /// The status as of `now`.
    pub fn status_at(&self, now: OffsetDateTime) -> Status {
        if self.status == Status::Pending && now >= self.expires_at {
            Status::Expired
        } else {
            self.status
        }
    }

    /// Whether an admin may still act on it as of `now` (resend or revoke):
    /// while pending or expired, not once it was answered or revoked.
    pub fn is_open_at(&self, now: OffsetDateTime) -> bool {
        matches!(self.status_at(now), Status::Pending | Status::Expired)
    }

    /// The language of its emails and pages: its own, else the tenant's
    /// default, else English.
    pub fn language_or(&self, tenant_default: Option<&Language>) -> String {
        self.language
            .clone()
            .or_else(|| tenant_default.map(|l| l.as_str().to_string()))
            .unwrap_or_else(|| "en".into())
    }

    /// The invitee accepts (`account_id` is who accepted, when the host app
    /// knows it). Only a pending, unexpired invitation can be accepted.
    pub fn accept(
        &self,
        now: OffsetDateTime,
        account_id: Option<String>,
    ) -> Result<Invitation, LifecycleError> {
        match self.status_at(now) {
            Status::Pending => Ok(Invitation {
                status: Status::Accepted,
                accepted_at: Some(now),
                accepted_by: account_id,
                ..self.clone()
            }),
            other => Err(refuse_final(other)),
        }
    }

    /// The invitee declines. Same preconditions as accept.
    pub fn decline(&self, now: OffsetDateTime) -> Result<Invitation, LifecycleError> {
        match self.status_at(now) {
            Status::Pending => {
                Ok(Invitation { status: Status::Declined, declined_at: Some(now), ..self.clone() })
            }
            other => Err(refuse_final(other)),
        }
    }

    /// An admin revokes; allowed while pending or expired.
    pub fn revoke(&self, now: OffsetDateTime) -> Result<Invitation, LifecycleError> {
        if !self.is_open_at(now) {
            return Err(refuse_final(self.status_at(now)));
        }
        Ok(Invitation { status: Status::Revoked, revoked_at: Some(now), ..self.clone() })
    }

    /// An admin resends with a freshly minted token: allowed while pending or
    /// expired, outside the cooldown and under the window's maximum. The
    /// invitation returns to pending with a new expiry and a queued email.
    pub fn resend(
        &self,
        now: OffsetDateTime,
        policy: &ResendPolicy,
        new_token: SecretHash,
    ) -> Result<Invitation, LifecycleError> {
        self.resend_as(now, policy, new_token, true)
    }

    /// A resend whose new link the host app hands over itself: no email, so
    /// the cooldown (the least time between two emails) does not apply, but
    /// it counts towards the window's maximum like any resend.
    pub fn resend_unsent(
        &self,
        now: OffsetDateTime,
        policy: &ResendPolicy,
        new_token: SecretHash,
    ) -> Result<Invitation, LifecycleError> {
        self.resend_as(now, policy, new_token, false)
    }

    fn resend_as(
        &self,
        now: OffsetDateTime,
        policy: &ResendPolicy,
        new_token: SecretHash,
        send: bool,
    ) -> Result<Invitation, LifecycleError> {
        if !self.is_open_at(now) {
            return Err(refuse_final(self.status_at(now)));
        }
        // An invitation never emailed has no cooldown to wait out.
        if let Some(last) = self.last_sent_at
            && send
            && now < last + policy.cooldown
        {
            return Err(LifecycleError::ResendCooldown {
                retry_after_secs: secs_until(now, last + policy.cooldown),
            });
        }
        let (window_start, window_count) = match self.resend_window_start {
            Some(start) if now < start + policy.window => (start, self.resend_window_count),
            _ => (now, 0),
        };
        if window_count >= policy.max_resends {
            return Err(LifecycleError::ResendLimit {
                retry_after_secs: secs_until(now, window_start + policy.window),
            });
        }
        Ok(Invitation {
            status: Status::Pending,
            token_hash: new_token,
            expires_at: now + policy.lifetime,
            last_sent_at: if send { Some(now) } else { self.last_sent_at },
            resend_count: self.resend_count + 1,
            resend_window_start: Some(window_start),
            resend_window_count: window_count + 1,
            delivery_state: if send { DeliveryState::Queued } else { DeliveryState::NotSent },
            delivery_attempts: 0,
            delivery_last_error: None,
            delivery_sent_at: None,
            ..self.clone()
        })
    }

    /// Records one delivery attempt of its email, whatever its status: the
    /// attempt is counted, the delivery state follows the result, and the
    /// time of the send is kept once sent.
    pub fn record_delivery(&self, result: DeliveryResult<'_>, now: OffsetDateTime) -> Invitation {
        let (delivery_state, error) = match result {
            DeliveryResult::Sent => (DeliveryState::Sent, None),
            DeliveryResult::WillRetry { error } => (DeliveryState::Queued, Some(error)),
            DeliveryResult::Failed { error } => (DeliveryState::Failed, Some(error)),
        };
        Invitation {
            delivery_state,
            delivery_attempts: self.delivery_attempts + 1,
            delivery_last_error: error.map(str::to_string),
            delivery_sent_at: match result {
                DeliveryResult::Sent => Some(now),
                _ => self.delivery_sent_at,
            },
            ..self.clone()
        }
    }

    /// The sweep records an expiry that has already happened in effect.
    pub fn expire(&self, now: OffsetDateTime) -> Option<Invitation> {
        (self.status == Status::Pending && now >= self.expires_at)
            .then(|| Invitation { status: Status::Expired, ..self.clone() })
    }
}

#[cfg(test)]
mod tests;
