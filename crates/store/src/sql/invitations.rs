//! Invitations: creation with their first email, reads, lists, token
//! lookups, lifecycle transitions and the expiry sweep.

use super::SqlStore;
use super::conn::{Arg, Exec, Number};
use super::events::{Happened, Listening, listening, record};
use super::expiry::{expire_locked, expire_pending_holder};
use super::quota::{Counter, window};
use super::rows::{self, INVITATION_COLUMNS, ms};
use super::statements::{applied, create_invitation, read_target};
use super::tx::write;
use crate::{
    AddressFilter, Audit, CreateOutcome, Decide, InvitationFilter, InvitationStore, NewInvitation,
    Quota, StoreError, Target, TokenMatch, Transition,
};
use invitd_core::{EventType, Invitation, SecretHash, Status, TenantId};
use time::OffsetDateTime;
use uuid::Uuid;

/// Creates invitations, each with its event and first email, in the
/// caller's transaction, as far as `quota` allows.
async fn create_in(
    conn: &mut impl Exec,
    items: Vec<NewInvitation>,
    quota: Quota,
    now: OffsetDateTime,
    audit: &Audit,
) -> Result<Vec<CreateOutcome>, StoreError> {
    let mut out = Vec::with_capacity(items.len());
    let mut counter = Counter::new(quota, now);
    // One question per call instead of a fan-out statement per invitation,
    // when the call's invitations share their tenant (they do from the
    // service).
    let tenant = items.first().map(|i| i.invitation.tenant_id.clone());
    let listening = match tenant {
        Some(t) if items.len() > 1 && items.iter().all(|i| i.invitation.tenant_id == t) => {
            listening(conn, &t).await?
        }
        _ => Listening::Ask,
    };
    for NewInvitation { mut invitation, email } in items {
        if let Some(counter) = &mut counter
            && let Some((limit, retry_at)) = counter.refusal(conn, &invitation).await?
        {
            out.push(CreateOutcome::QuotaExceeded { email: invitation.email, limit, retry_at });
            continue;
        }
        // The partial unique index decides whether the address already
        // has a pending invitation, without aborting the batch (and
        // across processes). Only on a conflict is the holder looked at:
        // one past its expiry is recorded as expired and gives way.
        let data = invitation_event_data(&invitation, email.is_some());
        let event = EventType::InvitationCreated;
        let h = || Happened { inv: &invitation, event, audit, at: now, data: &data };
        let mut number = create_invitation(conn, h(), email.as_ref(), listening).await?;
        if number.is_none() && expire_pending_holder(conn, &invitation, now).await? {
            number = create_invitation(conn, h(), email.as_ref(), listening).await?;
        }
        let Some(number) = number else {
            out.push(CreateOutcome::AlreadyPending { email: invitation.email });
            continue;
        };
        invitation.number = number;
        if let Some(counter) = &mut counter {
            counter.created(&invitation);
        }
        out.push(CreateOutcome::Created(Box::new(invitation)));
    }
    Ok(out)
}

/// Applies the transition `decide` makes of the invitation `target`
/// names, with its event, in the caller's transaction.
async fn transition_in(
    conn: &mut impl Exec,
    target: Target,
    decide: Decide,
    audit: &Audit,
) -> Result<Invitation, StoreError> {
    let current = read_target(conn, &target).await?;
    let change = decide(&current)?;
    for (sql, args) in applied(&current, &change) {
        conn.execute(sql, &args).await?;
    }
    let Transition { updated, at, event, event_data, .. } = change;
    record(conn, Happened { inv: &updated, event, audit, at, data: &event_data }).await?;
    Ok(updated)
}

/// Records up to `limit` pending invitations past their expiry as
/// expired (see [`InvitationStore::expire_due`]).
async fn expire_due_in(
    conn: &mut impl Exec,
    now: OffsetDateTime,
    limit: u32,
) -> Result<usize, StoreError> {
    let select = format!(
        "SELECT {INVITATION_COLUMNS} FROM invitations WHERE status = 'pending' AND expires_at <= $1 ORDER BY expires_at LIMIT $2{}",
        conn.dialect().skip_locked()
    );
    let due: Vec<Invitation> =
        conn.all(&select, &[Arg::int(ms(now)), Arg::int(i64::from(limit))]).await?;
    let mut count = 0;
    for current in &due {
        let data = serde_json::json!({"expired_at": current.expires_at.unix_timestamp()});
        if expire_locked(conn, current, now, data).await? {
            count += 1;
        }
    }
    Ok(count)
}

/// What `invitation.created` says: the address, the roles, the status, and
/// whether invitd emails the link (`send_email: false`: the host app does).
fn invitation_event_data(inv: &Invitation, send_email: bool) -> serde_json::Value {
    serde_json::json!({"email": inv.email, "roles": inv.roles, "status": inv.status.as_str(), "send_email": send_email})
}

#[async_trait::async_trait]
impl InvitationStore for SqlStore {
    async fn create_invitations(
        &self,
        items: Vec<NewInvitation>,
        quota: Quota,
        now: OffsetDateTime,
        audit: &Audit,
    ) -> Result<Vec<CreateOutcome>, StoreError> {
        let audit = audit.clone();
        write!(self, items.len(), |conn| create_in(conn, items, quota, now, &audit).await)
    }

    async fn count_created(
        &self,
        tenant: &TenantId,
        inviter: Option<&str>,
        since: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let (filter, args) = window(tenant.as_str(), inviter, since);
        let sql = format!("SELECT COUNT(*) FROM invitations WHERE {filter}");
        let count: Option<Number> = self.read_opt(&sql, &args).await?;
        Ok(count.map_or(0, |Number(n)| n.max(0) as u64))
    }

    async fn count_by_status(
        &self,
        tenant: &TenantId,
        now: OffsetDateTime,
    ) -> Result<crate::StatusCounts, StoreError> {
        self.count_by_status_in(tenant, now).await
    }

    async fn get_invitation(&self, tenant: &TenantId, id: Uuid) -> Result<Invitation, StoreError> {
        let sql = format!(
            "SELECT {INVITATION_COLUMNS} FROM invitations WHERE id = $1 AND tenant_id = $2"
        );
        let args = [Arg::blob(rows::id(id)), Arg::text(tenant.as_str())];
        self.read_opt(&sql, &args).await?.ok_or(StoreError::NotFound)
    }

    async fn get_invitation_by_number(
        &self,
        tenant: Option<&TenantId>,
        number: i64,
    ) -> Result<Invitation, StoreError> {
        let mut sql = format!("SELECT {INVITATION_COLUMNS} FROM invitations WHERE number = $1");
        let mut args = vec![Arg::int(number)];
        if let Some(tenant) = tenant {
            sql.push_str(" AND tenant_id = $2");
            args.push(Arg::text(tenant.as_str()));
        }
        self.read_opt(&sql, &args).await?.ok_or(StoreError::NotFound)
    }

    async fn list_invitations(
        &self,
        tenant: &TenantId,
        f: &InvitationFilter,
        now: OffsetDateTime,
    ) -> Result<Vec<Invitation>, StoreError> {
        // Each condition takes the next parameter number and its value.
        let mut sql = format!("SELECT {INVITATION_COLUMNS} FROM invitations WHERE tenant_id = $1");
        let mut args: Vec<Arg> = vec![Arg::text(tenant.as_str())];
        let mut cond = |sql_of: &dyn Fn(usize) -> String, arg: Arg| {
            args.push(arg);
            sql.push_str(" AND ");
            sql.push_str(&sql_of(args.len()));
        };
        // Effective status: a pending invitation past its expiry is expired.
        match f.status {
            Some(Status::Pending) => {
                cond(&|n| format!("status = 'pending' AND expires_at > ${n}"), Arg::int(ms(now)))
            }
            Some(Status::Expired) => cond(
                &|n| format!("(status = 'expired' OR (status = 'pending' AND expires_at <= ${n}))"),
                Arg::int(ms(now)),
            ),
            Some(other) => cond(&|n| format!("status = ${n}"), Arg::text(other.as_str())),
            None => {}
        }
        if let Some(e) = &f.email_normalized {
            cond(&|n| format!("email_normalized = ${n}"), Arg::text(e));
        }
        if let Some(r) = &f.role {
            cond(&|n| self.dialect().has_role(n), Arg::text(r.as_str()));
        }
        if let Some(t) = f.created_after {
            cond(&|n| format!("created_at > ${n}"), Arg::int(ms(t)));
        }
        if let Some(t) = f.created_before {
            cond(&|n| format!("created_at < ${n}"), Arg::int(ms(t)));
        }
        if let Some(number) = f.before_number {
            cond(&|n| format!("number < ${n}"), Arg::int(number));
        }
        sql.push_str(&format!(" ORDER BY number DESC LIMIT ${}", args.len() + 1));
        args.push(Arg::int(f.limit as i64));
        if f.role.is_some() {
            // The role is inside a JSON column: no index finds it.
            return self.scan_all(sql, args).await;
        }
        self.read_all(&sql, &args).await
    }

    async fn find_by_token(&self, hash: &SecretHash) -> Result<TokenMatch, StoreError> {
        let args = [Arg::blob(hash.as_bytes())];
        let sql = format!("SELECT {INVITATION_COLUMNS} FROM invitations WHERE token_hash = $1");
        if let Some(current) = self.read_opt(&sql, &args).await? {
            return Ok(TokenMatch::Current(Box::new(current)));
        }
        let sql = format!(
            "SELECT {INVITATION_COLUMNS} FROM invitations WHERE number = (SELECT invitation_number FROM replaced_tokens WHERE token_hash = $1)"
        );
        Ok(match self.read_opt(&sql, &args).await? {
            Some(replaced) => TokenMatch::Replaced(Box::new(replaced)),
            None => TokenMatch::Unknown,
        })
    }

    async fn transition(
        &self,
        target: Target,
        decide: Decide,
        audit: &Audit,
    ) -> Result<Invitation, StoreError> {
        let audit = audit.clone();
        write!(self, 1, |conn| transition_in(conn, target, decide, &audit).await)
    }

    async fn list_address_invitations(
        &self,
        filter: &AddressFilter,
        now: OffsetDateTime,
    ) -> Result<Vec<Invitation>, StoreError> {
        self.list_address_invitations_in(filter, now).await
    }

    async fn latest_by_addresses(
        &self,
        tenant: &TenantId,
        emails_normalized: &[String],
    ) -> Result<Vec<Invitation>, StoreError> {
        self.latest_by_addresses_in(tenant, emails_normalized).await
    }

    async fn change_terms(
        &self,
        target: Target,
        decide: Decide,
        audit: &Audit,
    ) -> Result<Invitation, StoreError> {
        self.change_terms_in(target, decide, audit).await
    }

    /// Records pending invitations past their expiry as expired, each with
    /// its event (and webhooks); returns how many. The rows are locked as
    /// they are read and concurrent sweeps skip each other's, and a write
    /// only lands on a row still pending, so each expiry is recorded once.
    async fn expire_due(&self, now: OffsetDateTime, limit: u32) -> Result<usize, StoreError> {
        write!(self, limit as usize, |conn| expire_due_in(conn, now, limit).await)
    }
}
