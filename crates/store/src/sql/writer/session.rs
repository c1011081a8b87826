//! A unit's session on the writer thread (see the top of `writer.rs`):
//! the handle a unit writes through, and the thread's side of it.

use super::super::conn::from_rusqlite;
use super::{Counts, Finish, Step, copy, rolled_back, typed};
use crate::StoreError;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A unit's transaction on the writer thread. Dropped without
/// [`Session::finish`], it is rolled back.
pub(crate) struct Session {
    pub(super) steps: mpsc::Sender<Step>,
}

impl Session {
    /// Runs `work` in the session; its outcome as soon as it ran (it is
    /// durable only once the session commits).
    pub(in crate::sql) async fn run<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (job, answer) = typed(1, work);
        self.steps.send(Step::Write(job)).map_err(|_| rolled_back())?;
        answer.await.map_err(|_| rolled_back())?
    }

    /// Runs `work` last: when it answers `true` the session commits, when
    /// `false` (or an error) it is rolled back; that answer once it is.
    pub(in crate::sql) async fn finish(
        self,
        work: impl FnOnce(&rusqlite::Connection) -> Result<bool, StoreError> + Send + 'static,
    ) -> Result<bool, StoreError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let finish = Finish { work: Box::new(work), reply };
        self.steps.send(Step::Finish(finish)).map_err(|_| rolled_back())?;
        answer.await.map_err(|_| rolled_back())?
    }
}

/// Runs a session to its end: its steps in one transaction, committed
/// when it finishes, rolled back when it is dropped, fails, or leaves the
/// thread waiting past `bound` in all.
pub(super) fn run_session(
    conn: &rusqlite::Connection,
    steps: &mpsc::Receiver<Step>,
    bound: Duration,
    counts: &Counts,
) {
    let begun = conn.execute_batch("BEGIN IMMEDIATE").map_err(from_rusqlite);
    let mut waited = Duration::ZERO;
    loop {
        let started = Instant::now();
        let step = steps.recv_timeout(bound.saturating_sub(waited));
        waited += started.elapsed();
        let step = match step {
            Ok(step) => step,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                tracing::warn!(
                    bound_ms = bound.as_millis() as u64,
                    "a unit of work left the SQLite writer waiting past its bound; rolled back"
                );
                break;
            }
            // Dropped without finishing: rolled back.
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        if let Err(e) = &begun {
            // The transaction never began: the step hears why, the
            // session ends.
            match step {
                Step::Write(job) => job.answer(Err(copy(e))),
                Step::Finish(finish) => {
                    let _ = finish.reply.send(Err(copy(e)));
                }
            }
            return;
        }
        match step {
            Step::Write(mut job) => {
                counts.jobs.fetch_add(1, Relaxed);
                // No savepoint (in a transaction of thousands of rows they
                // cost most of the time): a step that fails before it
                // changed a row needs nothing undone (a refused statement
                // is undone by SQLite itself), and the session goes on; one
                // that fails after it did ends the session, rolled back.
                let before = conn.total_changes();
                let kept = job.run(conn);
                if conn.is_autocommit() {
                    job.answer(Err(StoreError::Unavailable(
                        "SQLite rolled the transaction back after a failed statement".into(),
                    )));
                    return;
                }
                let half_done = !kept && conn.total_changes() != before;
                job.answer(Ok(()));
                if half_done {
                    tracing::warn!("a unit's write failed half-way; the unit is rolled back");
                    break;
                }
            }
            Step::Finish(Finish { work, reply }) => {
                let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| work(conn)))
                    .unwrap_or_else(|_| Err(StoreError::corrupt("a write panicked")));
                let answer = match outcome {
                    Ok(true) => conn.execute_batch("COMMIT").map(|()| true).map_err(from_rusqlite),
                    other => other,
                };
                if !matches!(answer, Ok(true)) {
                    let _ = conn.execute_batch("ROLLBACK");
                }
                let _ = reply.send(answer);
                return;
            }
        }
    }
    let _ = conn.execute_batch("ROLLBACK");
}
