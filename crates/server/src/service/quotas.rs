//! Quotas: the limits on new invitations per rolling 24 hours a tenant's
//! creates are held to (its own settings, else the operator's defaults),
//! what a refusal says, and how much of them is used.

use super::Service;
use super::invitation_input::Failure;
use crate::auth::Caller;
use crate::error::Error;
use invitd_core::limits;
use invitd_store::{Quota, QuotaLimit, Tenant};
use time::OffsetDateTime;

/// Largest quota a tenant may set.
pub const MAX_QUOTA: u32 = 10_000_000;

/// One limit and how much of it the window has used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowance {
    /// `None`: unlimited.
    pub limit: Option<u32>,
    /// Invitations created in the last 24 hours.
    pub used: u64,
    /// What the limit still allows; `None` when unlimited.
    pub remaining: Option<u64>,
}

impl Allowance {
    fn new(limit: Option<u32>, used: u64) -> Self {
        Allowance { limit, used, remaining: limit.map(|l| u64::from(l).saturating_sub(used)) }
    }
}

/// A tenant's quotas and what is left of them now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    pub tenant: Allowance,
    /// The per-inviter limit, and one inviter's use of it when asked.
    pub inviter_limit: Option<u32>,
    pub inviter: Option<(String, Allowance)>,
}

impl Service {
    /// The quota `tenant`'s creates are held to: each of its own settings,
    /// else the operator's default for it.
    pub fn quota_of(&self, tenant: &Tenant) -> Quota {
        let config = &self.state.config;
        Quota {
            per_day: tenant.invitations_per_day.or(config.default_invitations_per_day),
            per_inviter_per_day: tenant
                .invitations_per_inviter_per_day
                .or(config.default_invitations_per_inviter_per_day),
        }
    }

    /// The tenant with its quotas' use (and `inviter`'s, when named).
    pub async fn tenant_usage(
        &self,
        caller: &Caller,
        id: &str,
        inviter: Option<String>,
    ) -> Result<(Tenant, Usage), Error> {
        let tenant = self.get_tenant(caller, id).await?;
        if inviter.as_deref().is_some_and(|i| i.trim().is_empty()) {
            return Err(Error::invalid("inviter_account_id", "must not be empty"));
        }
        let inviter = super::check_text("inviter_account_id", inviter, limits::MAX_NAME_CHARS)?;
        let quota = self.quota_of(&tenant);
        let since = self.now() - Quota::WINDOW;
        let store = &self.state.store;
        let used = store.count_created(&tenant.id, None, since).await?;
        let inviter = match inviter {
            Some(account) => {
                let used = store.count_created(&tenant.id, Some(&account), since).await?;
                Some((account, Allowance::new(quota.per_inviter_per_day, used)))
            }
            None => None,
        };
        let usage = Usage {
            tenant: Allowance::new(quota.per_day, used),
            inviter_limit: quota.per_inviter_per_day,
            inviter,
        };
        Ok((tenant, usage))
    }
}

/// The failure of an address a quota refused at `now`.
pub(super) fn refused(
    email: String,
    limit: QuotaLimit,
    retry_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Failure {
    let whose = match limit {
        QuotaLimit::Tenant(n) => format!("the tenant's quota of {n}"),
        QuotaLimit::Inviter(n) => format!("the inviter's quota of {n}"),
    };
    let ms = (retry_at - now).whole_milliseconds().max(0) as u64;
    let secs = ms.div_ceil(1000).max(1);
    let at = retry_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    Failure {
        retry_after_seconds: Some(secs),
        ..Failure::new(
            email,
            "quota_exceeded",
            format!("{whose} new invitations per 24 hours is used up; room for one more at {at}"),
        )
    }
}

/// Checks a quota setting.
pub(super) fn check_quota(field: &str, v: Option<u32>) -> Result<Option<u32>, Error> {
    match v {
        Some(n) if n > MAX_QUOTA => Err(Error::invalid(field, format!("must be 0 to {MAX_QUOTA}"))),
        other => Ok(other),
    }
}
