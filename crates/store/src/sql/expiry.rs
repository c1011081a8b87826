//! Expiry as the store applies it: a pending invitation past its time,
//! read locked, turned expired by core's rule ([`Invitation::expire`]) and
//! written with its event. The sweep (`expire_due`) and a create that finds
//! the address held by an expired invitation both go through here.

use super::conn::Arg;
use super::conn::Exec;
use super::events::{Happened, record};
use super::rows::INVITATION_COLUMNS;
use super::statements::update_invitation;
use crate::{Audit, StoreError};
use invitd_core::{EventType, Invitation};
use time::OffsetDateTime;

/// Writes `current` (read under a lock) as expired, with its event, if its
/// expiry has passed and it is still pending; whether it did.
pub(super) async fn expire_locked(
    tx: &mut impl Exec,
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

/// Records the pending invitation holding `inv`'s address as expired if
/// its expiry has passed; whether it did.
pub(super) async fn expire_pending_holder(
    tx: &mut impl Exec,
    inv: &Invitation,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let sql = format!(
        "SELECT {INVITATION_COLUMNS} FROM invitations WHERE tenant_id = $1 AND email_normalized = $2 AND status = 'pending'{}",
        tx.dialect().for_update()
    );
    let args = [Arg::text(inv.tenant_id.as_str()), Arg::text(&inv.email_normalized)];
    let Some(holder) = tx.first::<Invitation>(&sql, &args).await? else {
        return Ok(false);
    };
    expire_locked(tx, &holder, now, serde_json::json!({})).await
}
