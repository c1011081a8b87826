//! The statements that write invitations and queue their emails, with
//! their arguments: one home for the family, shared by every write body
//! that creates, changes or expires an invitation.

use super::Dialect;
use super::conn::{Arg, Exec, Number};
use super::rows::{self, INVITATION_COLUMNS, ms, to_json};
use crate::{OutboxEmail, StoreError, Target, Transition};
use invitd_core::{Invitation, Status};
use time::OffsetDateTime;

/// Queues an email of an invitation (with [`outbox_args`]).
pub(super) const INSERT_OUTBOX: &str = "INSERT INTO outbox (invitation_number, tenant_id, kind, state, payload, next_attempt_at, created_at) VALUES ($1, $2, $3, 'pending', $4, $5, $6)";

pub(super) fn outbox_args(inv: &Invitation, email: &OutboxEmail, now: OffsetDateTime) -> Vec<Arg> {
    vec![
        Arg::int(inv.number),
        Arg::text(inv.tenant_id.as_str()),
        Arg::text(&email.kind),
        Arg::text(to_json(&email.payload)),
        Arg::int(ms(now)),
        Arg::int(ms(now)),
    ]
}

/// PostgreSQL: creates a pending invitation with its event, the event's
/// webhook deliveries and its first email in one statement (one round
/// trip instead of four), with [`created_args`]; returns its number, or no
/// row when the address already has a pending one in the tenant. The
/// event's snapshot gets the number the insert gave.
const CREATE_ALL_AT_ONCE: &str = concat!(
    "WITH inv AS (",
    "INSERT INTO invitations (id, tenant_id, email, email_normalized, roles, location_ids, message, purpose, language, metadata, inviter_account_id, inviter_email, created_at, status, token_hash, expires_at, last_sent_at, accepted_at, declined_at, revoked_at, accepted_by, resend_count, resend_window_start, resend_window_count, delivery_state, delivery_attempts, delivery_last_error, delivery_sent_at, redirect_url, accepted_email) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30) ON CONFLICT (tenant_id, email_normalized) WHERE status = 'pending' DO NOTHING RETURNING number",
    "), ev AS (",
    "INSERT INTO events (tenant_id, invitation_number, type, actor, ip, user_agent, at, data, snapshot) SELECT $2, number, $31, $32, $33, $34, $35, $36, jsonb_set($37::jsonb, '{number}', to_jsonb(number))::text FROM inv RETURNING id, invitation_number",
    "), hooks AS (",
    "INSERT INTO webhook_deliveries (endpoint_id, event_id, invitation_number, state, next_attempt_at, created_at) SELECT w.id, ev.id, ev.invitation_number, 'pending', $35, $35 FROM ev JOIN webhook_endpoints w ON w.tenant_id = $2 AND w.enabled = 1 AND (w.event_types = ',*,' OR w.event_types LIKE $38)",
    "), mail AS (",
    "INSERT INTO outbox (invitation_number, tenant_id, kind, state, payload, next_attempt_at, created_at) SELECT number, $2, $39, 'pending', $40, $35, $35 FROM inv WHERE $39 IS NOT NULL",
    ") SELECT number FROM inv"
);

/// The arguments of [`CREATE_ALL_AT_ONCE`]: the invitation's, the
/// event's (`event`, as [`super::events::Happened::event_args`] gives
/// them, and the `LIKE` pattern of its subscribers), and the email's.
fn created_args(
    inv: &Invitation,
    event: Vec<Arg>,
    subscribed: Arg,
    email: Option<&OutboxEmail>,
) -> Vec<Arg> {
    let mut args = insert_args(inv);
    // The event's tenant and invitation number come from the insert.
    args.extend(event.into_iter().skip(2));
    args.push(subscribed);
    args.push(Arg::opt_text(email.map(|e| e.kind.as_str())));
    args.push(Arg::Text(email.map(|e| to_json(&e.payload))));
    args
}

/// Creates `h.inv` (its number not yet known) with its event, webhook
/// deliveries and `email`: in one statement on PostgreSQL, in four on
/// SQLite. Its number, or `None` when the address already has a pending
/// invitation in the tenant.
pub(super) async fn create_invitation(
    conn: &mut impl Exec,
    h: super::events::Happened<'_>,
    email: Option<&OutboxEmail>,
    listening: super::events::Listening,
) -> Result<Option<i64>, StoreError> {
    if conn.dialect() == Dialect::Postgres {
        let args = created_args(h.inv, h.event_args(&to_json(h.inv)), h.subscribed(), email);
        let number = conn.first::<Number>(CREATE_ALL_AT_ONCE, &args).await?;
        return Ok(number.map(|Number(n)| n));
    }
    let Some(Number(number)) = conn.first(INSERT_INVITATION, &insert_args(h.inv)).await? else {
        return Ok(None);
    };
    let mut inv = h.inv.clone();
    inv.number = number;
    let at = h.at;
    super::events::record_for(conn, super::events::Happened { inv: &inv, ..h }, listening).await?;
    if let Some(email) = email {
        conn.execute(INSERT_OUTBOX, &outbox_args(&inv, email, at)).await?;
    }
    Ok(Some(number))
}

/// Writes back every field a transition may change, if the stored status
/// is still `was`; whether it was.
pub(super) async fn update_invitation(
    conn: &mut impl Exec,
    inv: &Invitation,
    was: Status,
) -> Result<bool, StoreError> {
    Ok(conn.execute(UPDATE_INVITATION, &update_args(inv, was)).await? == 1)
}

/// Inserts a pending invitation (with [`insert_args`]); returns its number,
/// or no row when the address already has a pending one in the tenant.
pub(super) const INSERT_INVITATION: &str = "INSERT INTO invitations (id, tenant_id, email, email_normalized, roles, location_ids, message, purpose, language, metadata, inviter_account_id, inviter_email, created_at, status, token_hash, expires_at, last_sent_at, accepted_at, declined_at, revoked_at, accepted_by, resend_count, resend_window_start, resend_window_count, delivery_state, delivery_attempts, delivery_last_error, delivery_sent_at, redirect_url, accepted_email) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30) ON CONFLICT (tenant_id, email_normalized) WHERE status = 'pending' DO NOTHING RETURNING number";

pub(super) fn insert_args(inv: &Invitation) -> Vec<Arg> {
    let mut args = vec![
        Arg::blob(rows::id(inv.id)),
        Arg::text(inv.tenant_id.as_str()),
        Arg::text(&inv.email),
        Arg::text(&inv.email_normalized),
        Arg::text(to_json(&inv.roles)),
        Arg::text(to_json(&inv.location_ids)),
        Arg::opt_text(inv.message.as_deref()),
        Arg::opt_text(inv.purpose.as_deref()),
        Arg::opt_text(inv.language.as_deref()),
        Arg::text(to_json(&inv.metadata)),
        Arg::opt_text(inv.inviter_account_id.as_deref()),
        Arg::opt_text(inv.inviter_email.as_deref()),
        Arg::int(ms(inv.created_at)),
    ];
    args.extend(state_args(inv));
    args
}

/// The fields a transition may change, in this order: status, token_hash,
/// expires_at, last_sent_at, accepted_at, declined_at, revoked_at,
/// accepted_by, resend_count, resend_window_start, resend_window_count,
/// delivery_state, delivery_attempts, delivery_last_error,
/// delivery_sent_at, redirect_url, accepted_email.
pub(super) fn state_args(inv: &Invitation) -> Vec<Arg> {
    vec![
        Arg::text(inv.status.as_str()),
        Arg::blob(inv.token_hash.as_bytes()),
        Arg::int(ms(inv.expires_at)),
        Arg::int(inv.last_sent_at.map(ms)),
        Arg::int(inv.accepted_at.map(ms)),
        Arg::int(inv.declined_at.map(ms)),
        Arg::int(inv.revoked_at.map(ms)),
        Arg::opt_text(inv.accepted_by.as_deref()),
        Arg::int(inv.resend_count as i64),
        Arg::int(inv.resend_window_start.map(ms)),
        Arg::int(inv.resend_window_count as i64),
        Arg::text(inv.delivery_state.as_str()),
        Arg::int(inv.delivery_attempts as i64),
        Arg::opt_text(inv.delivery_last_error.as_deref()),
        Arg::int(inv.delivery_sent_at.map(ms)),
        Arg::opt_text(inv.redirect_url.as_deref()),
        Arg::opt_text(inv.accepted_email.as_deref()),
    ]
}

/// Writes back every field a transition may change (with
/// [`update_args`]), if the stored status is still the one read.
pub(super) const UPDATE_INVITATION: &str = "UPDATE invitations SET status = $1, token_hash = $2, expires_at = $3, last_sent_at = $4, accepted_at = $5, declined_at = $6, revoked_at = $7, accepted_by = $8, resend_count = $9, resend_window_start = $10, resend_window_count = $11, delivery_state = $12, delivery_attempts = $13, delivery_last_error = $14, delivery_sent_at = $15, redirect_url = $16, accepted_email = $17 WHERE number = $18 AND status = $19";

pub(super) fn update_args(inv: &Invitation, was: Status) -> Vec<Arg> {
    let mut args = state_args(inv);
    args.extend([Arg::int(inv.number), Arg::text(was.as_str())]);
    args
}

/// Reads (and on PostgreSQL locks) a transition's target.
pub(super) async fn read_target(
    conn: &mut impl Exec,
    target: &Target,
) -> Result<Invitation, StoreError> {
    let (sql, args) = target_query(target, conn.dialect());
    conn.first(&sql, &args).await?.ok_or(StoreError::NotFound)
}

/// The query that reads (and on PostgreSQL locks) a transition's target.
fn target_query(target: &Target, dialect: Dialect) -> (String, Vec<Arg>) {
    let lock = dialect.for_update();
    match target {
        Target::Id { tenant, id } => (
            format!(
                "SELECT {INVITATION_COLUMNS} FROM invitations WHERE id = $1 AND tenant_id = $2{lock}"
            ),
            vec![Arg::blob(rows::id(*id)), Arg::text(tenant.as_str())],
        ),
        Target::Token(hash) => (
            format!("SELECT {INVITATION_COLUMNS} FROM invitations WHERE token_hash = $1{lock}"),
            vec![Arg::blob(hash.as_bytes())],
        ),
    }
}

/// The statements that apply a decided transition to `current` (read
/// under the write lock, so its status holds), before its event: the old
/// token kept as replaced, the row written back, and a new email queued in
/// place of any unsent one (whose link no longer works).
pub(super) fn applied(current: &Invitation, change: &Transition) -> Vec<(&'static str, Vec<Arg>)> {
    let updated = &change.updated;
    let mut statements = Vec::with_capacity(4);
    if !updated.token_hash.matches(&current.token_hash) {
        statements.push((
            "INSERT INTO replaced_tokens (token_hash, invitation_number, replaced_at) VALUES ($1, $2, $3)",
            vec![
                Arg::blob(current.token_hash.as_bytes()),
                Arg::int(current.number),
                Arg::int(ms(change.at)),
            ],
        ));
    }
    statements.push((UPDATE_INVITATION, update_args(updated, current.status)));
    if change.email.is_some() || !updated.token_hash.matches(&current.token_hash) {
        statements.push((
            "UPDATE outbox SET state = 'superseded', payload = NULL WHERE invitation_number = $1 AND state = 'pending'",
            vec![Arg::int(updated.number)],
        ));
    }
    if let Some(email) = &change.email {
        statements.push((INSERT_OUTBOX, outbox_args(updated, email, change.at)));
    }
    statements
}
