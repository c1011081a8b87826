//! Invitations: creation with their first email, reads, lists, token
//! lookups, lifecycle transitions and the expiry sweep.

use super::args::{Arg, bind_all};
use super::events::{Happened, record, record_on};
use super::expiry::expire_locked;
use super::outbox::{INSERT_OUTBOX, insert_outbox, outbox_args};
use super::rows::{self, INVITATION_COLUMNS, ms};
use super::statements::{
    INSERT_INVITATION, UPDATE_INVITATION, applied, insert_args, target_query, update_args,
};
use super::writer::{self, Writer};
use super::{Dialect, SqlStore};
use crate::{
    AddressFilter, Audit, CreateOutcome, Decide, InvitationFilter, InvitationStore, NewInvitation,
    StoreError, Target, TokenMatch, Transition,
};
use invitd_core::{EventType, Invitation, SecretHash, Status, TenantId};
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;
use uuid::Uuid;

/// Inserts a pending invitation; `None` when the address already has a
/// pending one in the tenant.
async fn insert_invitation(
    conn: &mut AnyConnection,
    inv: &Invitation,
) -> Result<Option<i64>, sqlx::Error> {
    let args = insert_args(inv);
    let row = bind_all(sqlx::query(INSERT_INVITATION), &args).fetch_optional(conn).await?;
    row.map(|r| r.try_get::<i64, _>("number")).transpose()
}

/// Writes back every field a transition may change, if the stored status
/// is still `was`; whether it was.
pub(super) async fn update_invitation(
    conn: &mut AnyConnection,
    inv: &Invitation,
    was: Status,
) -> Result<bool, StoreError> {
    let args = update_args(inv, was);
    let done = bind_all(sqlx::query(UPDATE_INVITATION), &args).execute(conn).await?;
    Ok(done.rows_affected() == 1)
}

/// Creates invitations on the SQLite writer thread, in one savepoint of a
/// group commit; `Conflict` (and nothing kept) when an address already has
/// a pending invitation, which the sqlx path settles (it may have expired).
async fn create_on_writer(
    writer: &Writer,
    items: Vec<NewInvitation>,
    now: OffsetDateTime,
    audit: Audit,
) -> Result<Vec<CreateOutcome>, StoreError> {
    writer
        .run(items.len(), move |conn| {
            let mut out = Vec::with_capacity(items.len());
            for NewInvitation { mut invitation, email } in items {
                invitation.number =
                    writer::returning_int(conn, INSERT_INVITATION, &insert_args(&invitation))?
                        .ok_or_else(|| StoreError::Conflict("already pending".into()))?;
                let data = invitation_event_data(&invitation);
                let event = EventType::InvitationCreated;
                let h = Happened { inv: &invitation, event, audit: &audit, at: now, data: &data };
                record_on(conn, h)?;
                writer::execute(conn, INSERT_OUTBOX, &outbox_args(&invitation, &email, now))?;
                out.push(CreateOutcome::Created(Box::new(invitation)));
            }
            Ok(out)
        })
        .await
}

fn invitation_event_data(inv: &Invitation) -> serde_json::Value {
    serde_json::json!({"email": inv.email, "roles": inv.roles, "status": inv.status.as_str()})
}

#[async_trait::async_trait]
impl InvitationStore for SqlStore {
    async fn create_invitations(
        &self,
        items: Vec<NewInvitation>,
        now: OffsetDateTime,
        audit: &Audit,
    ) -> Result<Vec<CreateOutcome>, StoreError> {
        if let Some(writer) = &self.sqlite_writer
            && !super::tx::in_unit()
        {
            match create_on_writer(writer, items.clone(), now, audit.clone()).await {
                // An address already has a pending invitation: nothing of
                // this call was kept, and the path below settles it.
                Err(StoreError::Conflict(_)) => {}
                other => return other,
            }
        }
        let mut tx = self.write().await?;
        let mut out = Vec::with_capacity(items.len());
        for NewInvitation { mut invitation, email } in items {
            // The partial unique index decides whether the address already
            // has a pending invitation, without aborting the batch (and
            // across processes). Only on a conflict is the holder looked at:
            // one past its expiry is recorded as expired and gives way.
            let mut number = insert_invitation(&mut tx, &invitation).await?;
            if number.is_none() && self.expire_pending_holder(&mut tx, &invitation, now).await? {
                number = insert_invitation(&mut tx, &invitation).await?;
            }
            match number {
                Some(n) => invitation.number = n,
                None => {
                    out.push(CreateOutcome::AlreadyPending { email: invitation.email });
                    continue;
                }
            }
            let data = invitation_event_data(&invitation);
            let event = EventType::InvitationCreated;
            record(&mut tx, Happened { inv: &invitation, event, audit, at: now, data: &data })
                .await?;
            insert_outbox(&mut tx, &invitation, &email, now).await?;
            out.push(CreateOutcome::Created(Box::new(invitation)));
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn get_invitation(&self, tenant: &TenantId, id: Uuid) -> Result<Invitation, StoreError> {
        let sql = format!(
            "SELECT {INVITATION_COLUMNS} FROM invitations WHERE id = $1 AND tenant_id = $2"
        );
        let row = rows::in_tenant(sqlx::AssertSqlSafe(sql), id, tenant)
            .fetch_optional(&self.reader)
            .await?
            .ok_or(StoreError::NotFound)?;
        rows::invitation(&row)
    }

    async fn get_invitation_by_number(
        &self,
        tenant: Option<&TenantId>,
        number: i64,
    ) -> Result<Invitation, StoreError> {
        let row = match tenant {
            Some(tenant) => {
                let sql = format!(
                    "SELECT {INVITATION_COLUMNS} FROM invitations WHERE number = $1 AND tenant_id = $2"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(number)
                    .bind(tenant.as_str())
                    .fetch_optional(&self.reader)
                    .await?
            }
            None => {
                let sql = format!("SELECT {INVITATION_COLUMNS} FROM invitations WHERE number = $1");
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(number)
                    .fetch_optional(&self.reader)
                    .await?
            }
        };
        rows::invitation(&row.ok_or(StoreError::NotFound)?)
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
            cond(&|n| self.dialect.has_role(n), Arg::text(r.as_str()));
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
        let rows =
            bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), &args).fetch_all(&self.reader).await?;
        rows.iter().map(rows::invitation).collect()
    }

    async fn find_by_token(&self, hash: &SecretHash) -> Result<TokenMatch, StoreError> {
        let sql = format!("SELECT {INVITATION_COLUMNS} FROM invitations WHERE token_hash = $1");
        if let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(hash.as_bytes())
            .fetch_optional(&self.reader)
            .await?
        {
            return Ok(TokenMatch::Current(Box::new(rows::invitation(&row)?)));
        }
        let sql = format!(
            "SELECT {INVITATION_COLUMNS} FROM invitations WHERE number = (SELECT invitation_number FROM replaced_tokens WHERE token_hash = $1)"
        );
        match sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(hash.as_bytes())
            .fetch_optional(&self.reader)
            .await?
        {
            Some(row) => Ok(TokenMatch::Replaced(Box::new(rows::invitation(&row)?))),
            None => Ok(TokenMatch::Unknown),
        }
    }

    async fn transition(
        &self,
        target: Target,
        decide: Decide,
        audit: &Audit,
    ) -> Result<Invitation, StoreError> {
        if let Some(writer) = &self.sqlite_writer
            && !super::tx::in_unit()
        {
            let audit = audit.clone();
            return writer
                .run(1, move |conn| {
                    let (sql, args) = target_query(&target, Dialect::Sqlite);
                    let current = writer::query_row(conn, &sql, &args, |r| rows::invitation(r))?
                        .ok_or(StoreError::NotFound)?;
                    let change = decide(&current)?;
                    for (sql, args) in applied(&current, &change) {
                        writer::execute(conn, sql, &args)?;
                    }
                    let Transition { updated, at, event, event_data, .. } = change;
                    record_on(
                        conn,
                        Happened { inv: &updated, event, audit: &audit, at, data: &event_data },
                    )?;
                    Ok(updated)
                })
                .await;
        }
        let mut tx = self.write().await?;
        let (sql, args) = target_query(&target, self.dialect);
        let row =
            bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), &args).fetch_optional(&mut *tx).await?;
        let current = rows::invitation(&row.ok_or(StoreError::NotFound)?)?;
        let change = decide(&current)?;
        for (sql, args) in applied(&current, &change) {
            bind_all(sqlx::query(sql), &args).execute(&mut *tx).await?;
        }
        let Transition { updated, at, event, event_data, .. } = change;
        record(&mut tx, Happened { inv: &updated, event, audit, at, data: &event_data }).await?;
        tx.commit().await?;
        Ok(updated)
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
        let mut tx = self.write().await?;
        let select = format!(
            "SELECT {INVITATION_COLUMNS} FROM invitations WHERE status = 'pending' AND expires_at <= $1 ORDER BY expires_at LIMIT $2"
        );
        let due = self.claim_due(&mut tx, &select, now, limit).await?;
        let mut count = 0;
        for row in &due {
            let current = rows::invitation(row)?;
            let data = serde_json::json!({"expired_at": current.expires_at.unix_timestamp()});
            if expire_locked(&mut tx, &current, now, data).await? {
                count += 1;
            }
        }
        tx.commit().await?;
        Ok(count)
    }
}
