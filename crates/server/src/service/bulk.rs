//! Revoke and resend in bulk, by address or by id: one call, one database
//! transaction, an answer per item (like create).

use super::Service;
use crate::auth::{Caller, Scope};
use crate::error::Error;
use invitd_core::{Invitation, LifecycleError, Secret, limits};
use invitd_store::{Tenant, Unit, UnitOutcome};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// The invitations a bulk call acts on: by address or by id (one of the
/// two, 1 to 1,000 items).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkSelection {
    /// Addresses: each names the address's newest invitation in the tenant.
    #[schema(min_items = 1, max_items = 1000)]
    pub emails: Option<Vec<String>>,
    /// Invitation ids of the tenant.
    #[schema(min_items = 1, max_items = 1000)]
    pub ids: Option<Vec<String>>,
}

/// What a bulk call does to each invitation it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkAction {
    Revoke,
    Resend,
}

/// An item of a bulk call that was not acted on, and why.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BulkFailure {
    /// The address as given, when the call named addresses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The invitation's id, when known (as given, when the call named ids).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `not_found`, `not_pending` (accepted, declined or revoked),
    /// `resend_cooldown`, `resend_limit_reached`, `invalid_email` or
    /// `duplicate_in_request`.
    pub code: String,
    pub message: String,
    /// With `resend_cooldown` and `resend_limit_reached`: seconds until a
    /// resend of this invitation is accepted again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u64>,
}

impl BulkFailure {
    fn new(email: Option<&str>, id: Option<String>, code: &str, message: &str) -> Self {
        Self {
            email: email.map(str::to_string),
            id,
            code: code.into(),
            message: message.into(),
            retry_after_seconds: None,
        }
    }
}

/// What a bulk call did: each invitation acted on (with the token of its
/// new link after a resend) and each item that failed.
pub struct BulkOutput {
    pub done: Vec<(Invitation, Option<Secret>)>,
    pub failures: Vec<BulkFailure>,
}

/// One item of the selection: the address it was named by (if any) and
/// the invitation's id, or why there is none.
type Selected = (Option<String>, Result<Uuid, BulkFailure>);

impl Service {
    /// Revokes or resends every invitation `selection` names, in one
    /// transaction; each item answers on its own.
    pub async fn bulk(
        &self,
        caller: &Caller,
        tenant: &str,
        action: BulkAction,
        selection: BulkSelection,
    ) -> Result<BulkOutput, Error> {
        let tenant = self.tenant_with(caller, Scope::InvitesWrite, tenant).await?;
        let selected = self.select(&tenant, selection).await?;
        let audit = caller.audit();
        // The rows are taken in one order, the ids' (as accept-all does),
        // whatever the order asked, so that concurrent calls naming the same
        // invitations wait for each other instead of deadlocking; the
        // answer keeps the order asked.
        let mut order: Vec<usize> = (0..selected.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(selected[i].1.as_ref().ok().copied()));
        let work = async {
            let mut done = Vec::new();
            let mut failures = Vec::new();
            for i in order {
                let (email, found) = &selected[i];
                let id = match found {
                    Ok(id) => *id,
                    Err(failure) => {
                        failures.push((i, failure.clone()));
                        continue;
                    }
                };
                let result = match action {
                    BulkAction::Revoke => {
                        self.revoke_in(&tenant.id, id, &audit).await.map(|inv| (inv, None))
                    }
                    BulkAction::Resend => self
                        .resend_in(&tenant, id, None, &audit)
                        .await
                        .map(|(inv, token)| (inv, Some(token))),
                };
                match result {
                    Ok(item) => done.push((i, item)),
                    Err(e) => failures.push((i, item_failure(email.as_deref(), id, e)?)),
                }
            }
            done.sort_by_key(|(i, _)| *i);
            failures.sort_by_key(|(i, _)| *i);
            Ok(BulkOutput {
                done: done.into_iter().map(|(_, item)| item).collect(),
                failures: failures.into_iter().map(|(_, f)| f).collect(),
            })
        };
        self.in_one_transaction(work).await
    }

    /// Resolves the selection to invitation ids of the tenant, in the order
    /// given; refuses the whole call unless it names 1 to 1,000 items one
    /// way.
    async fn select(
        &self,
        tenant: &Tenant,
        selection: BulkSelection,
    ) -> Result<Vec<Selected>, Error> {
        let max = limits::MAX_EMAILS_PER_CALL;
        let count_ok = |n: usize| (1..=max).contains(&n);
        match (selection.emails, selection.ids) {
            (Some(emails), None) if count_ok(emails.len()) => {
                self.select_by_email(tenant, emails).await
            }
            (None, Some(ids)) if count_ok(ids.len()) => Ok(select_by_id(ids)),
            (Some(_), Some(_)) | (None, None) => Err(Error::invalid(
                "emails",
                "give either `emails` or `ids` (one of the two, not both)",
            )),
            (Some(_), None) => {
                Err(Error::invalid("emails", format!("must list 1 to {max} addresses")))
            }
            (None, Some(_)) => Err(Error::invalid("ids", format!("must list 1 to {max} ids"))),
        }
    }

    async fn select_by_email(
        &self,
        tenant: &Tenant,
        emails: Vec<String>,
    ) -> Result<Vec<Selected>, Error> {
        let parsed: Vec<(String, Result<String, BulkFailure>)> = super::each_address(emails)
            .into_iter()
            .map(|(raw, parsed)| {
                let item = parsed
                    .map(|a| a.normalized().to_string())
                    .map_err(|(code, message)| BulkFailure::new(Some(&raw), None, code, &message));
                (raw, item)
            })
            .collect();
        let wanted: Vec<String> = parsed.iter().filter_map(|(_, p)| p.clone().ok()).collect();
        let latest: HashMap<String, Uuid> = self
            .state
            .store
            .latest_by_addresses(&tenant.id, &wanted)
            .await?
            .into_iter()
            .map(|inv| (inv.email_normalized, inv.id))
            .collect();
        Ok(parsed
            .into_iter()
            .map(|(raw, item)| {
                let found = item.and_then(|normalized| {
                    latest.get(&normalized).copied().ok_or_else(|| {
                        let message = "this address has no invitation to this tenant";
                        BulkFailure::new(Some(&raw), None, "not_found", message)
                    })
                });
                (Some(raw), found)
            })
            .collect())
    }

    /// Runs `work` in one database transaction: the request's unit when it
    /// has one (an `Idempotency-Key`), else one of its own, committed when
    /// `work` succeeds and rolled back when it fails.
    pub(super) async fn in_one_transaction<T>(
        &self,
        work: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        if Unit::in_scope() {
            return work.await;
        }
        let unit = Unit::new();
        let out = unit.scope(work).await?;
        match self.state.store.commit_unit(unit, None).await? {
            UnitOutcome::Committed => {
                self.state.outbox_notify.notify_one();
                Ok(out)
            }
            UnitOutcome::Taken(_) => {
                Err(Error::Internal(anyhow::anyhow!("a unit without an answer was taken")))
            }
        }
    }
}

fn select_by_id(ids: Vec<String>) -> Vec<Selected> {
    let mut seen = HashSet::new();
    ids.into_iter()
        .map(|raw| {
            let found = match Uuid::parse_str(raw.trim()) {
                Err(_) => Err(BulkFailure::new(
                    None,
                    Some(raw),
                    "not_found",
                    "no invitation of this tenant has this id",
                )),
                Ok(id) if !seen.insert(id) => Err(BulkFailure::new(
                    None,
                    Some(raw),
                    "duplicate_in_request",
                    "this id appears earlier in the request",
                )),
                Ok(id) => Ok(id),
            };
            (None, found)
        })
        .collect()
}

/// The answer for one item the lifecycle refused; any other error fails
/// the whole call (and rolls it back).
fn item_failure(email: Option<&str>, id: Uuid, e: Error) -> Result<BulkFailure, Error> {
    let id = Some(id.to_string());
    let (code, retry) = match &e {
        Error::NotFound(_) => ("not_found", None),
        Error::Lifecycle(
            LifecycleError::AlreadyAccepted
            | LifecycleError::AlreadyDeclined
            | LifecycleError::Revoked
            | LifecycleError::Expired,
        ) => ("not_pending", None),
        Error::Lifecycle(LifecycleError::ResendCooldown { retry_after_secs }) => {
            ("resend_cooldown", Some(*retry_after_secs))
        }
        Error::Lifecycle(LifecycleError::ResendLimit { retry_after_secs }) => {
            ("resend_limit_reached", Some(*retry_after_secs))
        }
        _ => return Err(e),
    };
    let message = match e {
        Error::NotFound(_) => "no invitation of this tenant has this id".to_string(),
        other => other.to_string(),
    };
    Ok(BulkFailure { retry_after_seconds: retry, ..BulkFailure::new(email, id, code, &message) })
}
