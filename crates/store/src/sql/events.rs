//! The audit trail: the one event writer every write shares (with the
//! webhook deliveries an invitation event queues) and the event log.

use super::SqlStore;
use super::conn::Arg;
use super::conn::{Exec, Number};
use super::rows::{self, ms, to_json};
use super::tx::write;
use crate::{Audit, Event, EventFilter, EventStore, StoreError};
use invitd_core::{EventType, Invitation, TenantId};
use time::OffsetDateTime;
use uuid::Uuid;

/// One audit event to append.
pub(super) struct NewEvent<'a> {
    pub tenant: Option<&'a TenantId>,
    pub invitation_number: Option<i64>,
    pub event_type: EventType,
    pub audit: &'a Audit,
    pub at: OffsetDateTime,
    pub data: &'a serde_json::Value,
    /// The invitation as it is after the event (invitation events only).
    pub snapshot: Option<&'a str>,
}

impl<'a> NewEvent<'a> {
    /// An event not about one invitation (tenants, roles, keys, webhooks).
    pub(super) fn admin(
        tenant: Option<&'a TenantId>,
        event_type: EventType,
        audit: &'a Audit,
        at: OffsetDateTime,
        data: &'a serde_json::Value,
    ) -> Self {
        Self { tenant, invitation_number: None, event_type, audit, at, data, snapshot: None }
    }
}

/// A record that admin events are about (a tenant, a webhook endpoint):
/// the tenant they belong to, and the data describing the record.
pub(super) trait Subject {
    fn event_subject(&self) -> (&TenantId, serde_json::Value);
}

/// Appends the admin event `change` about `subject`, at `at`.
pub(super) async fn insert_about(
    conn: &mut impl Exec,
    subject: &impl Subject,
    change: EventType,
    audit: &Audit,
    at: OffsetDateTime,
) -> Result<(), StoreError> {
    let (tenant, data) = subject.event_subject();
    insert_event(conn, NewEvent::admin(Some(tenant), change, audit, at, &data)).await.map(drop)
}

/// Appends one audit event (with [`event_args`]), returning its id.
const INSERT_EVENT: &str = "INSERT INTO events (tenant_id, invitation_number, type, actor, ip, user_agent, at, data, snapshot) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id";

fn event_args(e: &NewEvent<'_>) -> Vec<Arg> {
    vec![
        Arg::opt_text(e.tenant.map(TenantId::as_str)),
        Arg::int(e.invitation_number),
        Arg::text(e.event_type.as_str()),
        Arg::text(to_json(&e.audit.actor)),
        Arg::opt_text(e.audit.ip.as_deref()),
        Arg::opt_text(e.audit.user_agent.as_deref()),
        Arg::int(ms(e.at)),
        Arg::text(to_json(e.data)),
        Arg::opt_text(e.snapshot),
    ]
}

/// Queues one webhook delivery of an event per enabled endpoint of the
/// tenant that subscribes to its type (with [`Happened::fan_out_args`]).
const FAN_OUT: &str = "INSERT INTO webhook_deliveries (endpoint_id, event_id, invitation_number, state, next_attempt_at, created_at) SELECT id, $1, $2, 'pending', $3, $3 FROM webhook_endpoints WHERE tenant_id = $4 AND enabled = 1 AND (event_types = ',*,' OR event_types LIKE $5)";

/// Appends one audit event; its id.
pub(super) async fn insert_event(conn: &mut impl Exec, e: NewEvent<'_>) -> Result<i64, StoreError> {
    match conn.first::<Number>(INSERT_EVENT, &event_args(&e)).await? {
        Some(Number(id)) => Ok(id),
        None => Err(StoreError::corrupt("an event insert returned no id")),
    }
}

/// What happened to an invitation, to record as its event.
pub(super) struct Happened<'a> {
    /// The invitation as it is after the event.
    pub inv: &'a Invitation,
    pub event: EventType,
    pub audit: &'a Audit,
    pub at: OffsetDateTime,
    pub data: &'a serde_json::Value,
}

impl Happened<'_> {
    /// The event row, with `snapshot`, the invitation serialized.
    pub(super) fn event_args(&self, snapshot: &str) -> Vec<Arg> {
        event_args(&NewEvent {
            tenant: Some(&self.inv.tenant_id),
            invitation_number: Some(self.inv.number),
            event_type: self.event,
            audit: self.audit,
            at: self.at,
            data: self.data,
            snapshot: Some(snapshot),
        })
    }

    fn fan_out_args(&self, event_id: i64) -> Vec<Arg> {
        vec![
            Arg::int(event_id),
            Arg::int(self.inv.number),
            Arg::int(ms(self.at)),
            Arg::text(self.inv.tenant_id.as_str()),
            self.subscribed(),
        ]
    }

    /// The `LIKE` pattern of the endpoints subscribed to the event's type.
    pub(super) fn subscribed(&self) -> Arg {
        Arg::text(format!("%,{},%", self.event.as_str()))
    }
}

/// Records an invitation event with a snapshot of the invitation, and
/// queues one webhook delivery per enabled endpoint of the tenant that
/// subscribes to the event's type, in the caller's transaction.
pub(super) async fn record(conn: &mut impl Exec, h: Happened<'_>) -> Result<(), StoreError> {
    record_for(conn, h, Listening::Ask).await
}

/// Whether the tenant of an event has an enabled webhook endpoint.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Listening {
    /// Unknown: the fan-out statement finds out.
    Ask,
    /// None has (read in this transaction): no fan-out statement.
    Nobody,
}

/// Whether `tenant` has an enabled webhook endpoint, read in the caller's
/// transaction, for writes that record many events: a tenant without one
/// skips a fan-out statement per event.
pub(super) async fn listening(
    conn: &mut impl Exec,
    tenant: &TenantId,
) -> Result<Listening, StoreError> {
    let sql = "SELECT 1 FROM webhook_endpoints WHERE tenant_id = $1 AND enabled = 1 LIMIT 1";
    Ok(match conn.first::<Number>(sql, &[Arg::text(tenant.as_str())]).await? {
        Some(_) => Listening::Ask,
        None => Listening::Nobody,
    })
}

/// [`record`], skipping the fan-out when nobody listens.
pub(super) async fn record_for(
    conn: &mut impl Exec,
    h: Happened<'_>,
    listening: Listening,
) -> Result<(), StoreError> {
    let event = h.event_args(&to_json(h.inv));
    let Some(Number(event_id)) = conn.first(INSERT_EVENT, &event).await? else {
        return Err(StoreError::corrupt("an event insert returned no id"));
    };
    if listening == Listening::Ask {
        conn.execute(FAN_OUT, &h.fan_out_args(event_id)).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl EventStore for SqlStore {
    /// Events, newest first.
    async fn list_events(&self, f: &EventFilter) -> Result<Vec<Event>, StoreError> {
        let mut sql = String::from(
            "SELECT e.id, e.tenant_id, i.id AS invitation_id, e.type, e.actor, e.ip, e.user_agent, e.at, e.data, e.snapshot FROM events e LEFT JOIN invitations i ON i.number = e.invitation_number WHERE 1 = 1",
        );
        let mut n = 0;
        let mut next = || {
            n += 1;
            n
        };
        match &f.tenant {
            Some(_) => sql.push_str(&format!(" AND e.tenant_id = ${}", next())),
            None => sql.push_str(" AND e.tenant_id IS NULL"),
        }
        if f.event_type.is_some() {
            sql.push_str(&format!(" AND e.type = ${}", next()));
        }
        if f.invitation.is_some() {
            sql.push_str(&format!(" AND i.id = ${}", next()));
        }
        if f.after.is_some() {
            sql.push_str(&format!(" AND e.at > ${}", next()));
        }
        if f.before.is_some() {
            sql.push_str(&format!(" AND e.at < ${}", next()));
        }
        if f.before_id.is_some() {
            sql.push_str(&format!(" AND e.id < ${}", next()));
        }
        sql.push_str(&format!(" ORDER BY e.id DESC LIMIT ${}", next()));
        let mut args = Vec::with_capacity(7);
        if let Some(t) = &f.tenant {
            args.push(Arg::text(t.as_str()));
        }
        if let Some(t) = &f.event_type {
            args.push(Arg::text(t.as_str()));
        }
        if let Some(id) = f.invitation {
            args.push(Arg::blob(rows::id(id)));
        }
        if let Some(t) = f.after {
            args.push(Arg::int(ms(t)));
        }
        if let Some(t) = f.before {
            args.push(Arg::int(ms(t)));
        }
        if let Some(id) = f.before_id {
            args.push(Arg::int(id));
        }
        args.push(Arg::int(i64::from(f.limit)));
        // Filters by type or time are not all indexed: a scan.
        self.scan_all(sql, args).await
    }

    async fn list_invitation_events(
        &self,
        tenant: &TenantId,
        id: Uuid,
    ) -> Result<Vec<Event>, StoreError> {
        let sql = "SELECT number FROM invitations WHERE id = $1 AND tenant_id = $2";
        let Number(number) =
            self.read_opt(sql, &rows::in_tenant(id, tenant)).await?.ok_or(StoreError::NotFound)?;
        let sql = "SELECT e.id, e.tenant_id, i.id AS invitation_id, e.type, e.actor, e.ip, e.user_agent, e.at, e.data FROM events e JOIN invitations i ON i.number = e.invitation_number WHERE e.invitation_number = $1 ORDER BY e.id";
        self.read_all(sql, &[Arg::int(number)]).await
    }

    async fn record_invitation_event(
        &self,
        inv: &Invitation,
        event_type: EventType,
        audit: &Audit,
        at: OffsetDateTime,
        data: &serde_json::Value,
    ) -> Result<(), StoreError> {
        let snapshot = to_json(inv);
        let args = event_args(&NewEvent {
            tenant: Some(&inv.tenant_id),
            invitation_number: Some(inv.number),
            event_type,
            audit,
            at,
            data,
            snapshot: Some(&snapshot),
        });
        write!(self, 1, |conn| conn.execute(INSERT_EVENT, &args).await.map(drop))
    }
}
