//! Conversions between rows and records. Times are integer milliseconds,
//! ids and hashes bytes, lists and objects JSON text, on both databases.

pub(super) use super::conn::Listed;
use super::conn::{Cols, FromCols};
use crate::{ApiKey, Event, StoreError};
use invitd_core::{Actor, DeliveryState, Invitation, RoleId, SecretHash, Status, TenantId};
use time::OffsetDateTime;
use uuid::Uuid;

pub fn ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

pub fn from_ms(v: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(v as i128 * 1_000_000).map_err(StoreError::corrupt)
}

/// A UUID as stored.
pub fn id(u: Uuid) -> Vec<u8> {
    u.as_bytes().to_vec()
}

/// The arguments `$1` (a record's id) and `$2` (the tenant the record
/// must belong to).
pub(super) fn in_tenant(record: Uuid, tenant: &TenantId) -> [super::conn::Arg; 2] {
    [super::conn::Arg::blob(id(record)), super::conn::Arg::text(tenant.as_str())]
}

pub(super) fn uuid(row: &impl Cols, col: &str) -> Result<Uuid, StoreError> {
    let bytes: Vec<u8> = row.col(col)?;
    Uuid::from_slice(&bytes).map_err(StoreError::corrupt)
}

pub(super) fn opt_time(row: &impl Cols, col: &str) -> Result<Option<OffsetDateTime>, StoreError> {
    row.col::<Option<i64>>(col)?.map(from_ms).transpose()
}

pub(super) fn time(row: &impl Cols, col: &str) -> Result<OffsetDateTime, StoreError> {
    from_ms(row.col(col)?)
}

fn json<T: serde::de::DeserializeOwned>(row: &impl Cols, col: &str) -> Result<T, StoreError> {
    let text: String = row.col(col)?;
    serde_json::from_str(&text).map_err(StoreError::corrupt)
}

pub fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

pub(super) fn tenant_id(row: &impl Cols, col: &str) -> Result<TenantId, StoreError> {
    TenantId::parse(row.col::<String>(col)?).map_err(StoreError::corrupt)
}

/// A nullable text column, parsed with `parse` when it holds a value.
pub(super) fn opt_parsed<T, E: std::fmt::Display>(
    row: &impl Cols,
    col: &str,
    parse: impl FnOnce(String) -> Result<T, E>,
) -> Result<Option<T>, StoreError> {
    row.col::<Option<String>>(col)?.map(parse).transpose().map_err(StoreError::corrupt)
}

pub(super) fn count(row: &impl Cols, col: &str) -> Result<u32, StoreError> {
    Ok(row.col::<i64>(col)? as u32)
}

/// The names of a `…_COLUMNS` list.
pub(super) fn names(columns: &'static str) -> Vec<&'static str> {
    columns.split(", ").collect()
}

pub const INVITATION_COLUMNS: &str = "number, id, tenant_id, email, email_normalized, roles, location_ids, message, purpose, language, metadata, inviter_account_id, inviter_email, status, token_hash, created_at, expires_at, last_sent_at, accepted_at, declined_at, revoked_at, accepted_by, resend_count, resend_window_start, resend_window_count, delivery_state, delivery_attempts, delivery_last_error, delivery_sent_at, redirect_url, accepted_email";

pub(super) fn invitation(row: &impl Cols) -> Result<Invitation, StoreError> {
    let status: String = row.col("status")?;
    let delivery: String = row.col("delivery_state")?;
    let hash: Vec<u8> = row.col("token_hash")?;
    Ok(Invitation {
        number: row.col("number")?,
        id: uuid(row, "id")?,
        tenant_id: tenant_id(row, "tenant_id")?,
        email: row.col("email")?,
        email_normalized: row.col("email_normalized")?,
        roles: json::<Vec<RoleId>>(row, "roles")?,
        location_ids: json(row, "location_ids")?,
        message: row.col("message")?,
        purpose: row.col("purpose")?,
        language: row.col("language")?,
        metadata: json(row, "metadata")?,
        inviter_account_id: row.col("inviter_account_id")?,
        inviter_email: row.col("inviter_email")?,
        status: Status::parse(&status).ok_or_else(|| StoreError::corrupt(&status))?,
        token_hash: SecretHash::from_slice(&hash)
            .ok_or_else(|| StoreError::corrupt("token hash"))?,
        created_at: time(row, "created_at")?,
        expires_at: time(row, "expires_at")?,
        last_sent_at: opt_time(row, "last_sent_at")?,
        accepted_at: opt_time(row, "accepted_at")?,
        declined_at: opt_time(row, "declined_at")?,
        revoked_at: opt_time(row, "revoked_at")?,
        accepted_by: row.col("accepted_by")?,
        resend_count: count(row, "resend_count")?,
        resend_window_start: opt_time(row, "resend_window_start")?,
        resend_window_count: count(row, "resend_window_count")?,
        delivery_state: DeliveryState::parse(&delivery)
            .ok_or_else(|| StoreError::corrupt(&delivery))?,
        delivery_attempts: count(row, "delivery_attempts")?,
        delivery_last_error: row.col("delivery_last_error")?,
        delivery_sent_at: opt_time(row, "delivery_sent_at")?,
        redirect_url: row.col("redirect_url")?,
        accepted_email: row.col("accepted_email")?,
    })
}

pub const KEY_COLUMNS: &str = "id, name, hint, scopes, tenants, created_at, revoked_at";

static INVITATION_NAMES: std::sync::LazyLock<Vec<&str>> =
    std::sync::LazyLock::new(|| names(INVITATION_COLUMNS));

impl FromCols for Invitation {
    fn from_cols(row: &impl Cols) -> Result<Self, StoreError> {
        invitation(&Listed { row, columns: &INVITATION_NAMES })
    }
    fn listed_columns() -> Option<&'static [&'static str]> {
        Some(&INVITATION_NAMES)
    }
}

impl FromCols for Event {
    fn from_cols(row: &impl Cols) -> Result<Self, StoreError> {
        event(row)
    }
}

impl FromCols for ApiKey {
    fn from_cols(row: &impl Cols) -> Result<Self, StoreError> {
        api_key(row)
    }
}

pub(super) fn api_key(row: &impl Cols) -> Result<ApiKey, StoreError> {
    Ok(ApiKey {
        id: uuid(row, "id")?,
        name: row.col("name")?,
        hint: row.col("hint")?,
        scopes: json(row, "scopes")?,
        tenants: opt_parsed(row, "tenants", |t| serde_json::from_str(&t))?,
        created_at: time(row, "created_at")?,
        revoked_at: opt_time(row, "revoked_at")?,
    })
}

pub(super) fn event(row: &impl Cols) -> Result<Event, StoreError> {
    let actor: Actor = json(row, "actor")?;
    let invitation_id: Option<Vec<u8>> = row.col("invitation_id")?;
    Ok(Event {
        id: row.col("id")?,
        tenant_id: opt_parsed(row, "tenant_id", TenantId::parse)?,
        invitation_id: invitation_id
            .map(|b| Uuid::from_slice(&b))
            .transpose()
            .map_err(StoreError::corrupt)?,
        event_type: row.col("type")?,
        actor,
        ip: row.col("ip")?,
        user_agent: row.col("user_agent")?,
        at: time(row, "at")?,
        data: json(row, "data")?,
        snapshot: match row.col::<Option<String>>("snapshot") {
            Ok(Some(text)) => serde_json::from_str(&text).ok(),
            _ => None,
        },
    })
}
