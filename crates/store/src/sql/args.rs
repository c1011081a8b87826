//! Statement parameters as values, so one list of arguments serves both
//! ways a statement runs: through sqlx (PostgreSQL, and SQLite inside a
//! unit) and on the SQLite writer thread (rusqlite, see `writer.rs`).

use super::rows::AnyQuery;

/// One parameter. A NULL keeps its column's type, which PostgreSQL needs.
#[derive(Debug, Clone)]
pub(super) enum Arg {
    Int(Option<i64>),
    Text(Option<String>),
    Blob(Option<Vec<u8>>),
}

impl Arg {
    pub(super) fn int(v: impl Into<Option<i64>>) -> Self {
        Arg::Int(v.into())
    }
    pub(super) fn text(v: impl Into<String>) -> Self {
        Arg::Text(Some(v.into()))
    }
    pub(super) fn opt_text(v: Option<&str>) -> Self {
        Arg::Text(v.map(str::to_string))
    }
    pub(super) fn blob(v: impl Into<Vec<u8>>) -> Self {
        Arg::Blob(Some(v.into()))
    }
}

/// Binds `args` to `q` in order (as `$1`, `$2`, … after those already bound).
pub(super) fn bind_all<'q>(mut q: AnyQuery<'q>, args: &'q [Arg]) -> AnyQuery<'q> {
    for arg in args {
        q = match arg {
            Arg::Int(v) => q.bind(*v),
            Arg::Text(v) => q.bind(v.as_deref()),
            Arg::Blob(v) => q.bind(v.as_deref()),
        };
    }
    q
}

impl rusqlite::ToSql for Arg {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        match self {
            Arg::Int(v) => v.to_sql(),
            Arg::Text(v) => v.to_sql(),
            Arg::Blob(v) => v.to_sql(),
        }
    }
}
