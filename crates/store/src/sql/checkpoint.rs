//! SQLite's WAL checkpoints, off the writer thread.
//!
//! In WAL mode every commit appends to the `-wal` file, and a checkpoint
//! copies those pages back into the database file (with the fsyncs that
//! make them durable there). By default the connection that commits does
//! it, inside its commit, whenever the WAL passes 1,000 pages: under bulk
//! creates that was nearly every commit of the writer thread, and most of
//! its time (a 1,000-invitation commit took 27 ms, 7 ms without). Here a
//! thread of its own, on a connection of its own, runs a passive
//! checkpoint (which never waits for the writer or the readers) every
//! [`EVERY`]; the writer checkpoints by itself only past [`WRITER_BACKSTOP`]
//! pages, should this thread fall far behind.

use super::conn::from_rusqlite;
use crate::StoreError;
use std::sync::mpsc;
use std::time::Duration;

/// How often the thread checkpoints.
const EVERY: Duration = Duration::from_millis(250);

/// WAL pages past which the writer thread checkpoints by itself (64 MB of
/// 4 KB pages).
pub(super) const WRITER_BACKSTOP: u32 = 16_000;

/// The handle to the checkpoint thread; dropping it ends the thread after
/// a last checkpoint.
pub(crate) struct Checkpointer {
    _stop: mpsc::Sender<()>,
}

impl Checkpointer {
    pub(super) fn start(path: &str) -> Result<Self, StoreError> {
        let conn = rusqlite::Connection::open(path).map_err(from_rusqlite)?;
        conn.execute_batch("PRAGMA busy_timeout = 1000;").map_err(from_rusqlite)?;
        let (stop, stopped) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("invitd-sqlite-checkpoint".into())
            .spawn(move || {
                loop {
                    let last = !matches!(
                        stopped.recv_timeout(EVERY),
                        Err(mpsc::RecvTimeoutError::Timeout)
                    );
                    if let Err(e) = conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE);") {
                        tracing::debug!(error = %e, "a WAL checkpoint failed; tried again later");
                    }
                    if last {
                        return;
                    }
                }
            })
            .map_err(|e| StoreError::Config(format!("cannot start the checkpoint thread: {e}")))?;
        Ok(Checkpointer { _stop: stop })
    }
}
