//! Expiry as the store applies it: a pending invitation past its time,
//! read locked, turned expired by core's rule ([`Invitation::expire`]) and
//! written with its event. The sweep (`expire_due`) and a create that finds
//! the address held by an expired invitation both go through here.

use super::SqlStore;
use super::events::{Happened, record};
use super::invitations::update_invitation;
use super::rows::{self, INVITATION_COLUMNS};
use crate::{Audit, StoreError};
use invitd_core::{EventType, Invitation};
use sqlx::AnyConnection;
use time::OffsetDateTime;

/// Writes `current` (read under a lock) as expired, with its event, if its
/// expiry has passed and it is still pending; whether it did.
pub(super) async fn expire_locked(
    tx: &mut AnyConnection,
    current: &Invitation,
    now: OffsetDateTime,
    data: serde_json::Value,
) -> Result<bool, StoreError> {
    let Some(expired) = current.expire(now) else {
        return Ok(false);
    };
    if !update_invitation(tx, &expired, current.status).await? {
        return Ok(false);
    }
    let event = EventType::InvitationExpired;
    let audit = Audit::system();
    record(tx, Happened { inv: &expired, event, audit: &audit, at: now, data: &data }).await?;
    Ok(true)
}

impl SqlStore {
    /// Records the pending invitation holding `inv`'s address as expired if
    /// its expiry has passed; whether it did.
    pub(super) async fn expire_pending_holder(
        &self,
        tx: &mut AnyConnection,
        inv: &Invitation,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let sql = format!(
            "SELECT {INVITATION_COLUMNS} FROM invitations WHERE tenant_id = $1 AND email_normalized = $2 AND status = 'pending'{}",
            self.dialect.for_update()
        );
        let holder = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(inv.tenant_id.as_str())
            .bind(&inv.email_normalized)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(holder) = holder.as_ref().map(rows::invitation).transpose()? else {
            return Ok(false);
        };
        expire_locked(tx, &holder, now, serde_json::json!({})).await
    }
}
