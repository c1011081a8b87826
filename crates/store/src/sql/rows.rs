//! Conversions between rows and records. Times are integer milliseconds,
//! ids and hashes bytes, lists and objects JSON text, on both databases.

use crate::{ApiKey, Event, StoreError};
use invitd_core::{Actor, DeliveryState, Invitation, RoleId, SecretHash, Status, TenantId};
use sqlx::Row;
use sqlx::any::AnyRow;
use time::OffsetDateTime;
use uuid::Uuid;

/// A runtime query on the `Any` driver, for helpers that bind a group of
/// parameters in a fixed order.
pub(super) type AnyQuery<'q> =
    sqlx::query::Query<'q, sqlx::Any, <sqlx::Any as sqlx::Database>::Arguments>;

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

/// `sql` with its `$1` bound to a record's id and its `$2` to the tenant the
/// record must belong to.
pub(super) fn in_tenant<'q>(
    sql: impl sqlx::SqlSafeStr,
    record: Uuid,
    tenant: &'q TenantId,
) -> AnyQuery<'q> {
    sqlx::query(sql).bind(id(record)).bind(tenant.as_str())
}

/// A value a column can be read as, by sqlx and by rusqlite alike.
pub(super) trait Column:
    for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any> + rusqlite::types::FromSql
{
}

impl<T> Column for T where
    T: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any> + rusqlite::types::FromSql
{
}

/// A result row, from sqlx or from the SQLite writer thread, so one reader
/// per record serves both.
pub(super) trait Cols {
    fn col<T: Column>(&self, name: &str) -> Result<T, StoreError>;
    /// The column at `index` (0 is the first).
    fn col_at<T: Column>(&self, index: usize) -> Result<T, StoreError>;
    /// Where `name` is, if this row kind is faster read by position and
    /// the query selected `columns` first.
    fn listed(&self, _columns: &[&str], _name: &str) -> Option<usize> {
        None
    }
}

impl Cols for AnyRow {
    fn col<T: Column>(&self, name: &str) -> Result<T, StoreError> {
        Ok(self.try_get(name)?)
    }
    fn col_at<T: Column>(&self, index: usize) -> Result<T, StoreError> {
        Ok(self.try_get(index)?)
    }
}

impl Cols for rusqlite::Row<'_> {
    fn col<T: Column>(&self, name: &str) -> Result<T, StoreError> {
        self.get(name).map_err(super::writer::from_rusqlite)
    }
    fn col_at<T: Column>(&self, index: usize) -> Result<T, StoreError> {
        self.get(index).map_err(super::writer::from_rusqlite)
    }
    fn listed(&self, columns: &[&str], name: &str) -> Option<usize> {
        // rusqlite finds a column by name by comparing it with every
        // column's name (through SQLite's C API): for a row of 31 columns
        // that was 5 % of a read. The position in the list the query
        // selected, checked against that one column's name, is one call.
        let at = columns.iter().position(|c| *c == name)?;
        (self.as_ref().column_name(at).ok()? == name).then_some(at)
    }
}

/// A row of a query that selected `columns` (a `…_COLUMNS` list) first:
/// columns are found by their position in the list.
pub(super) struct Listed<'r, R> {
    pub row: &'r R,
    pub columns: &'r [&'static str],
}

impl<R: Cols> Cols for Listed<'_, R> {
    fn col<T: Column>(&self, name: &str) -> Result<T, StoreError> {
        match self.row.listed(self.columns, name) {
            Some(at) => self.row.col_at(at),
            None => self.row.col(name),
        }
    }
    fn col_at<T: Column>(&self, index: usize) -> Result<T, StoreError> {
        self.row.col_at(index)
    }
}

/// A row of a statement whose first columns were checked, once for the
/// statement, to be the `…_COLUMNS` list its reader names: each column is
/// read by its position in the list without asking SQLite its name again
/// (for a page of 50 invitations of 31 columns, that asking was 1,550 C
/// calls with a string comparison each).
pub(super) struct Verified<'r, 's>(pub &'r rusqlite::Row<'s>);

impl Cols for Verified<'_, '_> {
    fn col<T: Column>(&self, name: &str) -> Result<T, StoreError> {
        self.0.col(name)
    }
    fn col_at<T: Column>(&self, index: usize) -> Result<T, StoreError> {
        self.0.col_at(index)
    }
    fn listed(&self, columns: &[&str], name: &str) -> Option<usize> {
        columns.iter().position(|c| *c == name)
    }
}

/// Whether a statement selected `columns` first, in that order.
pub(super) fn selects_first(statement: &rusqlite::Statement<'_>, columns: &[&str]) -> bool {
    let names = statement.column_names();
    names.len() >= columns.len() && columns.iter().zip(&names).all(|(a, b)| a == b)
}

/// The names of a `…_COLUMNS` list.
pub(super) fn names(columns: &'static str) -> Vec<&'static str> {
    columns.split(", ").collect()
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

impl super::readers::FromCols for Invitation {
    fn from_cols(row: &impl Cols) -> Result<Self, StoreError> {
        invitation(&Listed { row, columns: &INVITATION_NAMES })
    }
    fn listed_columns() -> Option<&'static [&'static str]> {
        Some(&INVITATION_NAMES)
    }
}

impl super::readers::FromCols for Event {
    fn from_cols(row: &impl Cols) -> Result<Self, StoreError> {
        event(row)
    }
}

impl super::readers::FromCols for ApiKey {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::{Cols, Listed};

    /// A query that selected the listed columns first is read by position;
    /// one that did not (other columns first, or a column missing from the
    /// list) still reads each column by its name.
    #[test]
    fn listed_columns_are_read_by_position_only_where_the_names_agree() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let columns = ["a", "b", "c"];
        for (sql, want) in [
            ("SELECT 1 AS a, 2 AS b, 3 AS c", (1, 2, 3)),
            ("SELECT 3 AS c, 1 AS a, 2 AS b", (1, 2, 3)),
            ("SELECT 9 AS x, 1 AS a, 2 AS b, 3 AS c", (1, 2, 3)),
        ] {
            let got = conn
                .query_row(sql, [], |row| {
                    let listed = Listed { row, columns: &columns };
                    let read = |name: &str| listed.col::<i64>(name).unwrap();
                    Ok((read("a"), read("b"), read("c")))
                })
                .unwrap();
            assert_eq!(got, want, "{sql}");
        }
    }

    /// Three columns read through [`super::Listed`], named by a list.
    #[derive(Debug, PartialEq)]
    struct Abc(i64, i64, i64);

    impl crate::sql::readers::FromCols for Abc {
        fn from_cols(row: &impl Cols) -> Result<Self, crate::StoreError> {
            let listed = Listed { row, columns: &["a", "b", "c"] };
            Ok(Abc(listed.col("a")?, listed.col("b")?, listed.col("c")?))
        }
        fn listed_columns() -> Option<&'static [&'static str]> {
            Some(&["a", "b", "c"])
        }
    }

    /// A whole result is read by position only when its statement selected
    /// the list first; otherwise by name, and the values are the same.
    #[test]
    fn a_statement_checked_once_reads_every_row_right() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE t (a INTEGER, b INTEGER, c INTEGER); \
             INSERT INTO t VALUES (1, 2, 3), (4, 5, 6);",
        )
        .unwrap();
        for sql in [
            "SELECT a, b, c FROM t ORDER BY a",
            "SELECT c, a, b FROM t ORDER BY a",
            "SELECT a, c, b FROM t ORDER BY a",
            "SELECT 0 AS x, a, b, c FROM t ORDER BY a",
        ] {
            let got: Vec<Abc> = crate::sql::writer::query_all(&conn, sql, &[]).unwrap();
            assert_eq!(got, vec![Abc(1, 2, 3), Abc(4, 5, 6)], "{sql}");
        }
    }
}
