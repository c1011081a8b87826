//! An address's invitations: across tenants (the "you have 3 pending
//! invitations" screen), the newest of each address in a tenant (bulk
//! revoke and resend by address), and the change of a pending
//! invitation's terms.

use super::SqlStore;
use super::conn::Arg;
use super::conn::Exec;
use super::events::{Happened, record};
use super::rows::{INVITATION_COLUMNS, ms, to_json};
use super::statements::read_target;
use super::tx::write;
use crate::{AddressFilter, Audit, Decide, StoreError, Target, Transition};
use invitd_core::{Invitation, Status, TenantId};
use time::OffsetDateTime;

/// Addresses per query of [`SqlStore::latest_by_addresses_in`], well under
/// either database's limit on parameters.
const ADDRESSES_PER_QUERY: usize = 500;

/// `$n, $n+1, …` for `count` parameters after the `before` already bound.
fn placeholders(before: usize, count: usize) -> String {
    (before + 1..=before + count).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ")
}

impl SqlStore {
    pub(super) async fn list_address_invitations_in(
        &self,
        f: &AddressFilter,
        now: OffsetDateTime,
    ) -> Result<Vec<Invitation>, StoreError> {
        let mut sql =
            format!("SELECT {INVITATION_COLUMNS} FROM invitations WHERE email_normalized = $1");
        let mut args = vec![Arg::text(&f.email_normalized)];
        if let Some(tenants) = &f.tenants {
            if tenants.is_empty() {
                return Ok(Vec::new());
            }
            sql.push_str(&format!(" AND tenant_id IN ({})", placeholders(1, tenants.len())));
            args.extend(tenants.iter().map(|t| Arg::text(t.as_str())));
        }
        // Effective status: a pending invitation past its expiry is expired.
        match f.status {
            Some(Status::Pending) => {
                args.push(Arg::int(ms(now)));
                sql.push_str(&format!(" AND status = 'pending' AND expires_at > ${}", args.len()));
            }
            Some(Status::Expired) => {
                args.push(Arg::int(ms(now)));
                sql.push_str(&format!(
                    " AND (status = 'expired' OR (status = 'pending' AND expires_at <= ${}))",
                    args.len()
                ));
            }
            Some(other) => {
                args.push(Arg::text(other.as_str()));
                sql.push_str(&format!(" AND status = ${}", args.len()));
            }
            None => {}
        }
        if let Some(number) = f.before_number {
            args.push(Arg::int(number));
            sql.push_str(&format!(" AND number < ${}", args.len()));
        }
        args.push(Arg::int(i64::from(f.limit)));
        sql.push_str(&format!(" ORDER BY number DESC LIMIT ${}", args.len()));
        self.read_all(&sql, &args).await
    }

    pub(super) async fn latest_by_addresses_in(
        &self,
        tenant: &TenantId,
        emails: &[String],
    ) -> Result<Vec<Invitation>, StoreError> {
        let mut out = Vec::with_capacity(emails.len());
        for chunk in emails.chunks(ADDRESSES_PER_QUERY) {
            let sql = format!(
                "SELECT {INVITATION_COLUMNS} FROM invitations WHERE number IN (SELECT MAX(number) FROM invitations WHERE tenant_id = $1 AND email_normalized IN ({}) GROUP BY email_normalized)",
                placeholders(1, chunk.len())
            );
            let mut args = vec![Arg::text(tenant.as_str())];
            args.extend(chunk.iter().map(Arg::text));
            out.extend(self.read_all::<Invitation>(&sql, &args).await?);
        }
        Ok(out)
    }

    pub(super) async fn change_terms_in(
        &self,
        target: Target,
        decide: Decide,
        audit: &Audit,
    ) -> Result<Invitation, StoreError> {
        let audit = audit.clone();
        write!(self, 1, |conn| change_terms(conn, target, decide, &audit).await)
    }
}

/// Changes a pending invitation's terms as `decide` says, with its event.
async fn change_terms(
    conn: &mut impl Exec,
    target: Target,
    decide: Decide,
    audit: &Audit,
) -> Result<Invitation, StoreError> {
    let current = read_target(conn, &target).await?;
    let Transition { updated, at, event, event_data, .. } = decide(&current)?;
    if updated == current {
        // Nothing changes: nothing is written, no event.
        return Ok(current);
    }
    // Read under the write lock (SQLite) or locked (PostgreSQL): the
    // status the decision saw holds.
    let args = [
        Arg::text(to_json(&updated.roles)),
        Arg::opt_text(updated.message.as_deref()),
        Arg::text(to_json(&updated.metadata)),
        Arg::int(ms(updated.expires_at)),
        Arg::int(updated.number),
        Arg::text(current.status.as_str()),
    ];
    let sql = "UPDATE invitations SET roles = $1, message = $2, metadata = $3, expires_at = $4 WHERE number = $5 AND status = $6";
    conn.execute(sql, &args).await?;
    record(conn, Happened { inv: &updated, event, audit, at, data: &event_data }).await?;
    Ok(updated)
}
