//! One body per write, whichever way it runs.
//!
//! A write (create invitations, a transition, an expiry, an email's
//! outcome) is an `async fn` generic over [`Exec`]. Through sqlx (PostgreSQL,
//! and SQLite inside an idempotent unit) each statement is awaited on the
//! transaction's connection. On the SQLite writer thread the same body runs
//! on [`OnThread`], whose statements are synchronous rusqlite calls that
//! are ready at once, so [`ready`] polls the body a single time.

use super::args::{Arg, bind_all};
use super::readers::FromCols;
use super::writer;
use crate::StoreError;
use sqlx::AnyConnection;
use std::task::{Context, Poll, Waker};

/// Where a write's statements run.
pub(super) trait Exec {
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

impl Exec for AnyConnection {
    async fn execute(&mut self, sql: &str, args: &[Arg]) -> Result<u64, StoreError> {
        let q = bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), args);
        Ok(q.execute(&mut *self).await?.rows_affected())
    }

    async fn first<T: FromCols>(
        &mut self,
        sql: &str,
        args: &[Arg],
    ) -> Result<Option<T>, StoreError> {
        let q = bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), args);
        q.fetch_optional(&mut *self).await?.as_ref().map(T::from_cols).transpose()
    }

    async fn all<T: FromCols>(&mut self, sql: &str, args: &[Arg]) -> Result<Vec<T>, StoreError> {
        let q = bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), args);
        q.fetch_all(&mut *self).await?.iter().map(T::from_cols).collect()
    }
}

/// The writer thread's connection.
pub(super) struct OnThread<'c>(pub &'c rusqlite::Connection);

impl Exec for OnThread<'_> {
    async fn execute(&mut self, sql: &str, args: &[Arg]) -> Result<u64, StoreError> {
        writer::execute(self.0, sql, args).map(|n| n as u64)
    }

    async fn first<T: FromCols>(
        &mut self,
        sql: &str,
        args: &[Arg],
    ) -> Result<Option<T>, StoreError> {
        writer::query_row(self.0, sql, args, |r| T::from_cols(r))
    }

    async fn all<T: FromCols>(&mut self, sql: &str, args: &[Arg]) -> Result<Vec<T>, StoreError> {
        writer::query_all(self.0, sql, args)
    }
}

/// The outcome of a body run on [`OnThread`], which never waits.
pub(super) fn ready<T>(body: impl Future<Output = Result<T, StoreError>>) -> Result<T, StoreError> {
    let mut body = std::pin::pin!(body);
    match body.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => Err(StoreError::corrupt("a write on the writer thread waited")),
    }
}

/// A single integer column, for `RETURNING number` and `RETURNING id`.
pub(super) struct Number(pub i64);

impl FromCols for Number {
    fn from_cols(row: &impl super::rows::Cols) -> Result<Self, StoreError> {
        row.col_at::<i64>(0).map(Number)
    }
}
