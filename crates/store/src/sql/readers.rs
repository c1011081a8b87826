//! Point reads without a thread hop.
//!
//! sqlx's SQLite driver sends every statement to a worker thread and back.
//! For the reads on every request's path (the API key, the tenant and its
//! roles, an invitation by id or token, a page of the list) that round
//! trip costs more than the read: in WAL mode a reader never waits for the
//! writer, and an indexed lookup takes microseconds. On SQLite these reads
//! run synchronously on the calling task's thread, on a small pool of
//! read-only rusqlite connections; on PostgreSQL they go through sqlx.

use super::SqlStore;
use super::args::{Arg, bind_all};
use super::rows::Cols;
use super::writer::{self, from_rusqlite};
use crate::StoreError;
use std::sync::Mutex;

/// A record read from a row of either kind.
pub(super) trait FromCols: Sized {
    fn from_cols(row: &impl Cols) -> Result<Self, StoreError>;
}

/// Settings of a reader connection. The busy timeout is short: a read
/// waits only while SQLite recovers a WAL file, and it holds a runtime
/// thread meanwhile. The page cache is 4 MB (the writers keep 16 MB):
/// the operating system caches the file too, and with several readers
/// open the caches were most of the server's memory at 1,000,000
/// invitations.
const READER_PRAGMAS: &str =
    "PRAGMA busy_timeout = 1000; PRAGMA temp_store = MEMORY; PRAGMA cache_size = -4000;";

/// Read-only connections to the database file, opened as needed and kept
/// (up to `keep`) for the next read.
pub(crate) struct Readers {
    path: String,
    keep: usize,
    idle: Mutex<Vec<rusqlite::Connection>>,
}

impl Readers {
    pub(super) fn new(path: &str, keep: usize) -> Self {
        Readers { path: path.to_string(), keep: keep.max(1), idle: Mutex::default() }
    }

    fn open(&self) -> Result<rusqlite::Connection, StoreError> {
        use rusqlite::OpenFlags;
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn =
            rusqlite::Connection::open_with_flags(&self.path, flags).map_err(from_rusqlite)?;
        conn.execute_batch(READER_PRAGMAS).map_err(from_rusqlite)?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(conn)
    }

    /// Runs `read` on an idle connection (or a new one), then keeps the
    /// connection unless the read met a fault outside invitd.
    fn with<T>(
        &self,
        read: impl FnOnce(&rusqlite::Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let idle = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let conn = match idle {
            Some(conn) => conn,
            None => self.open()?,
        };
        let out = read(&conn);
        if !matches!(out, Err(StoreError::Unavailable(_)))
            && let Ok(mut idle) = self.idle.lock()
            && idle.len() < self.keep
        {
            idle.push(conn);
        }
        out
    }
}

impl SqlStore {
    /// The first row `sql` finds with `args`, if any.
    pub(super) async fn read_opt<T: FromCols>(
        &self,
        sql: &str,
        args: &[Arg],
    ) -> Result<Option<T>, StoreError> {
        if let Some(readers) = &self.sqlite_readers {
            return readers.with(|conn| writer::query_row(conn, sql, args, |r| T::from_cols(r)));
        }
        let row = bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), args)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(T::from_cols).transpose()
    }

    /// Every row `sql` finds with `args`.
    pub(super) async fn read_all<T: FromCols>(
        &self,
        sql: &str,
        args: &[Arg],
    ) -> Result<Vec<T>, StoreError> {
        if let Some(readers) = &self.sqlite_readers {
            return readers.with(|conn| writer::query_all(conn, sql, args));
        }
        let rows =
            bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), args).fetch_all(&self.reader).await?;
        rows.iter().map(T::from_cols).collect()
    }
}
