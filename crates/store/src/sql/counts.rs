//! A tenant's invitations counted by effective status, for the console's
//! tenant page.

use super::SqlStore;
use super::conn::Arg;
use super::conn::Cols;
use super::conn::FromCols;
use super::rows::ms;
use crate::{StatusCounts, StoreError};
use invitd_core::{Status, TenantId};
use time::OffsetDateTime;

/// Per stored status: how many, and how many of those are past their
/// expiry (only pending ones matter: they count as expired). `$1` is now,
/// `$2` the tenant.
const COUNT_BY_STATUS: &str = "SELECT status, COUNT(*), \
     SUM(CASE WHEN status = 'pending' AND expires_at <= $1 THEN 1 ELSE 0 END) \
     FROM invitations WHERE tenant_id = $2 GROUP BY status";

/// One row of [`COUNT_BY_STATUS`].
struct Group {
    status: String,
    count: i64,
    past_expiry: i64,
}

impl FromCols for Group {
    fn from_cols(row: &impl Cols) -> Result<Self, StoreError> {
        Ok(Group {
            status: row.col_at(0)?,
            count: row.col_at(1)?,
            // SUM over no rows is NULL; a group has at least one row, but
            // read it as optional all the same.
            past_expiry: row.col_at::<Option<i64>>(2)?.unwrap_or(0),
        })
    }
}

impl SqlStore {
    pub(super) async fn count_by_status_in(
        &self,
        tenant: &TenantId,
        now: OffsetDateTime,
    ) -> Result<StatusCounts, StoreError> {
        let args = vec![Arg::int(ms(now)), Arg::text(tenant.as_str())];
        let groups: Vec<Group> = self.scan_all(COUNT_BY_STATUS.into(), args).await?;
        let mut counts = StatusCounts::default();
        for g in groups {
            let (count, past) = (g.count.max(0) as u64, g.past_expiry.max(0) as u64);
            match Status::parse(&g.status) {
                Some(Status::Pending) => {
                    counts.pending += count.saturating_sub(past);
                    counts.expired += past;
                }
                Some(Status::Accepted) => counts.accepted += count,
                Some(Status::Declined) => counts.declined += count,
                Some(Status::Revoked) => counts.revoked += count,
                Some(Status::Expired) => counts.expired += count,
                None => return Err(StoreError::corrupt(format!("unknown status {:?}", g.status))),
            }
        }
        Ok(counts)
    }
}
