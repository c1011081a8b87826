//! The only file that speaks to the database drivers: rusqlite for SQLite
//! (the writer thread and the read pool) and sqlx's PostgreSQL driver.
//!
//! Everything above it writes its SQL once, with numbered `$N` parameters
//! given as [`Arg`] values, reads rows through [`Cols`] into records that
//! implement [`FromCols`], and runs statements on a [`Conn`]. One rule
//! binds parameters on both drivers: `$N` is the N-th argument, wherever
//! it appears in the text and however often (SQLite would otherwise number
//! its parameters in the order they first appear).

use crate::StoreError;
use sqlx::postgres::{PgArguments, PgConnection, PgRow};
use sqlx::{Postgres, Row};

/// What differs between the two databases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// Locks the rows a write depends on (SQLite's write lock already
    /// covers the whole database).
    pub(super) fn for_update(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE",
        }
    }

    /// Locks rows to claim, passing over those another process holds.
    pub(super) fn skip_locked(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }

    /// A condition: the JSON array in `invitations.roles` holds `$n`.
    pub(super) fn has_role(self, n: usize) -> String {
        match self {
            Dialect::Sqlite => format!(
                "EXISTS (SELECT 1 FROM json_each(invitations.roles) WHERE json_each.value = ${n})"
            ),
            Dialect::Postgres => format!(
                "EXISTS (SELECT 1 FROM jsonb_array_elements_text(invitations.roles::jsonb) AS r(role) WHERE r.role = ${n})"
            ),
        }
    }
}

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

impl rusqlite::ToSql for Arg {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        match self {
            Arg::Int(v) => v.to_sql(),
            Arg::Text(v) => v.to_sql(),
            Arg::Blob(v) => v.to_sql(),
        }
    }
}

/// A value a column can be read as, by either driver.
pub(super) trait Column:
    for<'r> sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres> + rusqlite::types::FromSql
{
}

impl<T> Column for T where
    T: for<'r> sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres> + rusqlite::types::FromSql
{
}

/// A result row of either driver, so one reader per record serves both.
pub(super) trait Cols {
    fn col<T: Column>(&self, name: &str) -> Result<T, StoreError>;
    /// The column at `index` (0 is the first).
    fn col_at<T: Column>(&self, index: usize) -> Result<T, StoreError>;
    /// The integer at `index`, whatever its width (PostgreSQL types `1`
    /// as a 4-byte integer, `COUNT(*)` as an 8-byte one).
    fn int_at(&self, index: usize) -> Result<i64, StoreError> {
        self.col_at(index)
    }
    /// Where `name` is, if this row kind is faster read by position and
    /// the query selected `columns` first.
    fn listed(&self, _columns: &[&str], _name: &str) -> Option<usize> {
        None
    }
}

/// A record read from a row.
pub(super) trait FromCols: Sized {
    fn from_cols(row: &impl Cols) -> Result<Self, StoreError>;
    /// The `…_COLUMNS` list its reader finds columns in by position, if
    /// any (see [`Listed`]).
    fn listed_columns() -> Option<&'static [&'static str]> {
        None
    }
}

/// A single integer column, for `RETURNING number`, `COUNT(*)`, `SELECT 1`.
pub(super) struct Number(pub i64);

impl FromCols for Number {
    fn from_cols(row: &impl Cols) -> Result<Self, StoreError> {
        row.int_at(0).map(Number)
    }
}

impl Cols for PgRow {
    fn col<T: Column>(&self, name: &str) -> Result<T, StoreError> {
        self.try_get(name).map_err(StoreError::from)
    }
    fn col_at<T: Column>(&self, index: usize) -> Result<T, StoreError> {
        self.try_get(index).map_err(StoreError::from)
    }
    fn int_at(&self, index: usize) -> Result<i64, StoreError> {
        match self.try_get::<i64, _>(index) {
            Ok(v) => Ok(v),
            Err(_) => Ok(i64::from(self.try_get::<i32, _>(index)?)),
        }
    }
}

impl Cols for rusqlite::Row<'_> {
    fn col<T: Column>(&self, name: &str) -> Result<T, StoreError> {
        self.get(name).map_err(from_rusqlite)
    }
    fn col_at<T: Column>(&self, index: usize) -> Result<T, StoreError> {
        self.get(index).map_err(from_rusqlite)
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
    fn int_at(&self, index: usize) -> Result<i64, StoreError> {
        self.row.int_at(index)
    }
}

/// A row of a statement whose first columns were checked, once for the
/// statement, to be the `…_COLUMNS` list its reader names: each column is
/// read by its position in the list without asking SQLite its name again
/// (for a page of 50 invitations of 31 columns, that asking was 1,550 C
/// calls with a string comparison each).
struct Verified<'r, 's>(&'r rusqlite::Row<'s>);

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
fn selects_first(statement: &rusqlite::Statement<'_>, columns: &[&str]) -> bool {
    let names = statement.column_names();
    names.len() >= columns.len() && columns.iter().zip(&names).all(|(a, b)| a == b)
}

/// Where a write's statements run: the writer thread's SQLite connection
/// ([`Lite`]) or a PostgreSQL connection inside a transaction. Write
/// bodies are `async fn`s generic over it, so each is written once; on
/// [`Lite`] every statement is ready at once.
pub(super) trait Exec {
    /// Which database this is.
    fn dialect(&self) -> Dialect;
    /// Runs `sql`; the rows it changed.
    async fn execute(&mut self, sql: &str, args: &[Arg]) -> Result<u64, StoreError>;
    /// The first row `sql` returns, if any.
    async fn first<T: FromCols>(
        &mut self,
        sql: &str,
        args: &[Arg],
    ) -> Result<Option<T>, StoreError>;
    /// Every row `sql` returns.
    async fn all<T: FromCols>(&mut self, sql: &str, args: &[Arg]) -> Result<Vec<T>, StoreError>;
}

/// A SQLite connection (the writer thread's), for write bodies.
pub(super) struct Lite<'c>(pub &'c rusqlite::Connection);

impl Exec for Lite<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    async fn execute(&mut self, sql: &str, args: &[Arg]) -> Result<u64, StoreError> {
        lite_execute(self.0, sql, args).map(|n| n as u64)
    }

    async fn first<T: FromCols>(
        &mut self,
        sql: &str,
        args: &[Arg],
    ) -> Result<Option<T>, StoreError> {
        lite_first(self.0, sql, args)
    }

    async fn all<T: FromCols>(&mut self, sql: &str, args: &[Arg]) -> Result<Vec<T>, StoreError> {
        lite_all(self.0, sql, args)
    }
}

impl Exec for PgConnection {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    async fn execute(&mut self, sql: &str, args: &[Arg]) -> Result<u64, StoreError> {
        Ok(pg_query(sql, args).execute(&mut *self).await?.rows_affected())
    }

    async fn first<T: FromCols>(
        &mut self,
        sql: &str,
        args: &[Arg],
    ) -> Result<Option<T>, StoreError> {
        let row = pg_query(sql, args).fetch_optional(&mut *self).await?;
        row.as_ref().map(T::from_cols).transpose()
    }

    async fn all<T: FromCols>(&mut self, sql: &str, args: &[Arg]) -> Result<Vec<T>, StoreError> {
        let rows = pg_query(sql, args).fetch_all(&mut *self).await?;
        rows.iter().map(T::from_cols).collect()
    }
}

/// A PostgreSQL query with `args` bound as `$1`, `$2`, …; sqlx prepares it
/// once per connection and keeps the prepared statement.
pub(super) fn pg_query<'q>(
    sql: &'q str,
    args: &'q [Arg],
) -> sqlx::query::Query<'q, Postgres, PgArguments> {
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for arg in args {
        q = match arg {
            Arg::Int(v) => q.bind(*v),
            Arg::Text(v) => q.bind(v.as_deref()),
            Arg::Blob(v) => q.bind(v.as_deref()),
        };
    }
    q
}

/// A statement's text for SQLite: `$N` becomes `?N`, which SQLite binds to
/// index N exactly (a `$N` would be a name, numbered by first appearance).
/// The store's SQL has no `$` but its parameters'.
fn lite_sql(sql: &str) -> std::borrow::Cow<'_, str> {
    if sql.contains('$') { sql.replace('$', "?").into() } else { sql.into() }
}

/// Binds `args` to a prepared SQLite statement: `?N` takes `args[N - 1]`.
fn bind_lite(statement: &mut rusqlite::Statement<'_>, args: &[Arg]) -> Result<(), StoreError> {
    let wanted = statement.parameter_count();
    if wanted > args.len() {
        return Err(StoreError::Database(format!(
            "the statement has {wanted} parameters, {} arguments were given",
            args.len()
        )));
    }
    for (index, arg) in args.iter().enumerate().take(wanted) {
        statement.raw_bind_parameter(index + 1, arg).map_err(from_rusqlite)?;
    }
    Ok(())
}

/// Runs one statement on a SQLite connection; the rows it changed.
pub(super) fn lite_execute(
    conn: &rusqlite::Connection,
    sql: &str,
    args: &[Arg],
) -> Result<usize, StoreError> {
    let mut statement = conn.prepare_cached(&lite_sql(sql)).map_err(from_rusqlite)?;
    bind_lite(&mut statement, args)?;
    if statement.column_count() == 0 {
        return statement.raw_execute().map_err(from_rusqlite);
    }
    // A statement that returns rows (`… RETURNING id`) runs to its end,
    // as it does on PostgreSQL.
    let mut rows = statement.raw_query();
    while rows.next().map_err(from_rusqlite)?.is_some() {}
    Ok(conn.changes() as usize)
}

/// Runs one query on a SQLite connection and reads every row.
pub(super) fn lite_all<T: FromCols>(
    conn: &rusqlite::Connection,
    sql: &str,
    args: &[Arg],
) -> Result<Vec<T>, StoreError> {
    let mut statement = conn.prepare_cached(&lite_sql(sql)).map_err(from_rusqlite)?;
    // Checked once here rather than for every column of every row.
    let verified = T::listed_columns().is_some_and(|c| selects_first(&statement, c));
    bind_lite(&mut statement, args)?;
    let mut rows = statement.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(from_rusqlite)? {
        out.push(if verified { T::from_cols(&Verified(row))? } else { T::from_cols(row)? });
    }
    Ok(out)
}

/// Runs one query on a SQLite connection and reads its first row.
pub(super) fn lite_first<T: FromCols>(
    conn: &rusqlite::Connection,
    sql: &str,
    args: &[Arg],
) -> Result<Option<T>, StoreError> {
    let mut statement = conn.prepare_cached(&lite_sql(sql)).map_err(from_rusqlite)?;
    bind_lite(&mut statement, args)?;
    let mut rows = statement.raw_query();
    match rows.next().map_err(from_rusqlite)? {
        Some(row) => Ok(Some(T::from_cols(row)?)),
        None => Ok(None),
    }
}

/// A rusqlite error as the store reports it (see [`crate::error`] for the
/// one classification of both drivers' errors).
pub(super) fn from_rusqlite(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(failure, _) => {
            crate::error::classify_sqlite(failure.extended_code, e.to_string())
        }
        _ => StoreError::Database(e.to_string()),
    }
}

#[cfg(test)]
mod tests;
