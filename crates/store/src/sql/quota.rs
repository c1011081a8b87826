//! Quotas, counted inside the create's own transaction so that concurrent
//! creates cannot both take the last place: on SQLite every write holds
//! the database's one write lock; on PostgreSQL the create first locks the
//! tenant's row (`FOR NO KEY UPDATE`, which other transactions' foreign-key
//! checks do not wait for) and only then counts, so a second create of
//! the tenant waits and counts the first one's rows. A create without a
//! quota runs none of this.

use super::Dialect;
use super::conn::Arg;
use super::conn::{Exec, Number};
use super::rows::{from_ms, ms};
use crate::{Quota, QuotaLimit, StoreError};
use invitd_core::Invitation;
use time::OffsetDateTime;

/// What one create has counted so far, per tenant and per inviter.
pub(super) struct Counter {
    quota: Quota,
    now: OffsetDateTime,
    /// Tenants whose row this transaction locked.
    locked: Vec<String>,
    counts: Vec<Count>,
}

/// Invitations created in the window by a tenant (`inviter: None`) or by
/// one inviter in it.
struct Count {
    tenant: String,
    inviter: Option<String>,
    used: u64,
    /// Once the limit is reached: when one more fits (it stays reached for
    /// the rest of the create, so this is asked once).
    retry_at: Option<OffsetDateTime>,
}

impl Counter {
    /// A counter for a create held to `quota` at `now`; `None` when the
    /// quota limits nothing, so an unlimited create costs nothing.
    pub(super) fn new(quota: Quota, now: OffsetDateTime) -> Option<Self> {
        (!quota.is_unlimited()).then(|| Counter { quota, now, locked: vec![], counts: vec![] })
    }

    /// `None` if `inv` fits within the quota, else the limit that refuses
    /// it and when one more would fit (the later one if both refuse).
    pub(super) async fn refusal(
        &mut self,
        conn: &mut impl Exec,
        inv: &Invitation,
    ) -> Result<Option<(QuotaLimit, OffsetDateTime)>, StoreError> {
        let tenant = inv.tenant_id.as_str();
        if conn.dialect() == Dialect::Postgres && !self.locked.iter().any(|t| t == tenant) {
            conn.execute(
                "SELECT id FROM tenants WHERE id = $1 FOR NO KEY UPDATE",
                &[Arg::text(tenant)],
            )
            .await?;
            self.locked.push(tenant.to_string());
        }
        let mut checks = Vec::with_capacity(2);
        if let Some(max) = self.quota.per_day {
            checks.push((QuotaLimit::Tenant(max), max, None));
        }
        if let (Some(max), Some(inviter)) =
            (self.quota.per_inviter_per_day, inv.inviter_account_id.as_deref())
        {
            checks.push((QuotaLimit::Inviter(max), max, Some(inviter)));
        }
        let mut refused: Option<(QuotaLimit, OffsetDateTime)> = None;
        for (limit, max, inviter) in checks {
            let i = self.count(conn, tenant, inviter).await?;
            let (since, now) = (self.since(), self.now);
            let count = &mut self.counts[i];
            if count.used < u64::from(max) {
                continue;
            }
            let retry_at = match count.retry_at {
                Some(at) => at,
                None => {
                    let at =
                        next_place(conn, count, max, since).await?.unwrap_or(now + Quota::WINDOW);
                    count.retry_at = Some(at);
                    at
                }
            };
            if refused.is_none_or(|(_, at)| retry_at > at) {
                refused = Some((limit, retry_at));
            }
        }
        Ok(refused)
    }

    /// Counts `inv`, just created, in every count it belongs to.
    pub(super) fn created(&mut self, inv: &Invitation) {
        for count in &mut self.counts {
            if count.tenant == inv.tenant_id.as_str()
                && (count.inviter.is_none() || count.inviter == inv.inviter_account_id)
            {
                count.used += 1;
            }
        }
    }

    /// Where the count of the tenant (and inviter) is, counting it first.
    async fn count(
        &mut self,
        conn: &mut impl Exec,
        tenant: &str,
        inviter: Option<&str>,
    ) -> Result<usize, StoreError> {
        if let Some(i) =
            self.counts.iter().position(|c| c.tenant == tenant && c.inviter.as_deref() == inviter)
        {
            return Ok(i);
        }
        let (filter, args) = window(tenant, inviter, self.since());
        let sql = format!("SELECT COUNT(*) FROM invitations WHERE {filter}");
        let Number(used) = conn.first(&sql, &args).await?.unwrap_or(Number(0));
        self.counts.push(Count {
            tenant: tenant.to_string(),
            inviter: inviter.map(str::to_string),
            used: used.max(0) as u64,
            retry_at: None,
        });
        Ok(self.counts.len() - 1)
    }

    /// The window's start: invitations created after it count.
    fn since(&self) -> OffsetDateTime {
        self.now - Quota::WINDOW
    }
}

/// When a count at or past `max` has room for one more: when the
/// invitation whose leaving brings it below `max` leaves the window.
/// `None` if there is none (a limit of 0: a window from now on).
async fn next_place(
    conn: &mut impl Exec,
    count: &Count,
    max: u32,
    since: OffsetDateTime,
) -> Result<Option<OffsetDateTime>, StoreError> {
    let (filter, mut args) = window(&count.tenant, count.inviter.as_deref(), since);
    let sql = format!(
        "SELECT created_at FROM invitations WHERE {filter} ORDER BY created_at LIMIT 1 OFFSET ${}",
        args.len() + 1
    );
    args.push(Arg::int((count.used - u64::from(max)) as i64));
    let oldest: Option<Number> = conn.first(&sql, &args).await?;
    oldest.map(|Number(at)| Ok(from_ms(at)? + Quota::WINDOW)).transpose()
}

/// The condition (and its arguments) of the invitations a count counts.
pub(super) fn window(
    tenant: &str,
    inviter: Option<&str>,
    since: OffsetDateTime,
) -> (String, Vec<Arg>) {
    let mut filter = "tenant_id = $1 AND created_at > $2".to_string();
    let mut args = vec![Arg::text(tenant), Arg::int(ms(since))];
    if let Some(inviter) = inviter {
        filter.push_str(" AND inviter_account_id = $3");
        args.push(Arg::text(inviter));
    }
    (filter, args)
}
