//! Expiry as the store applies it: a pending invitation past its time,
//! read locked, turned expired by core's rule ([`Invitation::expire`]) and
//! written with its event. The sweep (`expire_due`) and a create that finds
//! the address held by an expired invitation both go through here.

use super::args::{Arg, bind_all};
use super::events::{Happened, record, record_on};
use super::invitations::update_invitation;
use super::rows::{self, INVITATION_COLUMNS};
use super::statements::{UPDATE_INVITATION, update_args};
use super::writer;
use super::{Dialect, SqlStore};
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

/// The pending invitation holding an address in a tenant, read locked.
fn holder_query(dialect: Dialect) -> String {
    format!(
        "SELECT {INVITATION_COLUMNS} FROM invitations WHERE tenant_id = $1 AND email_normalized = $2 AND status = 'pending'{}",
        dialect.for_update()
    )
}

fn holder_args(inv: &Invitation) -> [Arg; 2] {
    [Arg::text(inv.tenant_id.as_str()), Arg::text(&inv.email_normalized)]
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
        let (sql, args) = (holder_query(self.dialect), holder_args(inv));
        let holder =
            bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), &args).fetch_optional(&mut *tx).await?;
        let Some(holder) = holder.as_ref().map(rows::invitation).transpose()? else {
            return Ok(false);
        };
        expire_locked(tx, &holder, now, serde_json::json!({})).await
    }
}

/// [`SqlStore::expire_pending_holder`] on the SQLite writer thread.
pub(super) fn expire_pending_holder_on(
    conn: &rusqlite::Connection,
    inv: &Invitation,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let (sql, args) = (holder_query(Dialect::Sqlite), holder_args(inv));
    let Some(holder) = writer::query_row(conn, &sql, &args, |r| rows::invitation(r))? else {
        return Ok(false);
    };
    let Some(expired) = holder.expire(now) else {
        return Ok(false);
    };
    if writer::execute(conn, UPDATE_INVITATION, &update_args(&expired, holder.status))? != 1 {
        return Ok(false);
    }
    let (event, audit, data) =
        (EventType::InvitationExpired, Audit::system(), serde_json::json!({}));
    record_on(conn, Happened { inv: &expired, event, audit: &audit, at: now, data: &data })?;
    Ok(true)
}
