//! Reads. On SQLite they run on a small pool of read-only rusqlite
//! connections: a point read (the API key, the tenant and its roles, an
//! invitation by id or token, a page of the list) synchronously on the
//! calling task's thread, since an indexed lookup takes microseconds and
//! in WAL mode a reader never waits for the writer; a scan (counts, lists
//! filtered by role, the event log) on a blocking thread, off the async
//! workers. On PostgreSQL every read goes through the pool.

use super::conn::{Arg, FromCols, lite_all, lite_first, pg_query};
use super::{Db, SqlStore};
use crate::StoreError;
use std::sync::Mutex;

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
    /// Connections open now, idle or reading.
    open: std::sync::atomic::AtomicUsize,
}

impl Readers {
    pub(super) fn new(path: &str, keep: usize) -> Self {
        Readers {
            path: path.to_string(),
            keep: keep.max(1),
            idle: Mutex::default(),
            open: Default::default(),
        }
    }

    fn open(&self) -> Result<rusqlite::Connection, StoreError> {
        use rusqlite::OpenFlags;
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = rusqlite::Connection::open_with_flags(&self.path, flags)
            .map_err(super::conn::from_rusqlite)?;
        conn.execute_batch(READER_PRAGMAS).map_err(super::conn::from_rusqlite)?;
        conn.set_prepared_statement_cache_capacity(64);
        self.open.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(conn)
    }

    /// Connections open now, and how many of them are idle.
    pub(super) fn counts(&self) -> (usize, usize) {
        let idle = self.idle.lock().map(|idle| idle.len()).unwrap_or(0);
        (self.open.load(std::sync::atomic::Ordering::Relaxed), idle)
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
        } else {
            self.open.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
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
        match &self.db {
            Db::Sqlite(lite) => lite.readers.with(|conn| lite_first(conn, sql, args)),
            Db::Postgres(pg) => {
                let row = pg_query(sql, args).fetch_optional(&pg.pool).await?;
                row.as_ref().map(T::from_cols).transpose()
            }
        }
    }

    /// Every row `sql` finds with `args`.
    pub(super) async fn read_all<T: FromCols>(
        &self,
        sql: &str,
        args: &[Arg],
    ) -> Result<Vec<T>, StoreError> {
        match &self.db {
            Db::Sqlite(lite) => lite.readers.with(|conn| lite_all(conn, sql, args)),
            Db::Postgres(pg) => {
                let rows = pg_query(sql, args).fetch_all(&pg.pool).await?;
                rows.iter().map(T::from_cols).collect()
            }
        }
    }

    /// [`Self::read_all`] for a read that may scan many rows: on SQLite it
    /// runs on a blocking thread, so it does not hold an async worker.
    pub(super) async fn scan_all<T: FromCols + Send + 'static>(
        &self,
        sql: String,
        args: Vec<Arg>,
    ) -> Result<Vec<T>, StoreError> {
        match &self.db {
            Db::Sqlite(lite) => {
                let readers = lite.readers.clone();
                tokio::task::spawn_blocking(move || {
                    readers.with(|conn| lite_all(conn, &sql, &args))
                })
                .await
                .map_err(|e| StoreError::Database(format!("a read failed: {e}")))?
            }
            Db::Postgres(_) => self.read_all(&sql, &args).await,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::super::conn::{Number, from_rusqlite};
    use super::super::{Db, SqlStore};
    use crate::OpenOptions;
    use std::sync::Arc;

    /// The rule "reads never wait for the writer": while the writer
    /// thread holds SQLite's write lock in the middle of a transaction, a
    /// read answers at once (it does not hit its busy timeout, which would
    /// be `Unavailable`) and sees only what is committed.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reads_answer_while_the_writer_holds_its_lock() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("r.db").display());
        let store = Arc::new(SqlStore::open(&url, &OpenOptions::default()).await.unwrap());
        let (held, is_held) = tokio::sync::oneshot::channel::<()>();
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let writing = store.clone();
        let write = tokio::spawn(async move {
            let Db::Sqlite(lite) = &writing.db else { unreachable!() };
            lite.writer
                .run(1, move |conn| {
                    conn.execute_batch(
                        "CREATE TABLE scratch (x INTEGER); INSERT INTO scratch VALUES (1);",
                    )
                    .map_err(from_rusqlite)?;
                    let _ = held.send(());
                    let _ = wait.recv();
                    Ok(())
                })
                .await
        });
        is_held.await.unwrap();
        let sql = "SELECT COUNT(*) FROM sqlite_master WHERE name = 'scratch'";
        // Longer than a reader's busy timeout (1 s): a read that waited for
        // the lock would have failed by now.
        for _ in 0..3 {
            let Number(seen) = store.read_opt::<Number>(sql, &[]).await.unwrap().unwrap();
            assert_eq!(seen, 0, "the uncommitted table is not seen");
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
        drop(release);
        write.await.unwrap().unwrap();
        let Number(seen) = store.read_opt::<Number>(sql, &[]).await.unwrap().unwrap();
        assert_eq!(seen, 1, "committed: seen");
    }
}
