//! The SQLite writer thread: group commit without a thread hop per
//! statement.
//!
//! sqlx's SQLite driver runs every statement on its own worker thread and
//! hands the result back, so a write of eight statements pays eight
//! round trips between threads while it holds SQLite's one write lock. The
//! hot writes (creating invitations outside an idempotent request) instead
//! go to this thread, which owns a connection of its own (rusqlite) and
//! runs each job synchronously, start to end.
//!
//! Group commit: the thread takes every job waiting in its queue (up to
//! [`MAX_BATCH`]), runs them in one transaction, each inside its own
//! `SAVEPOINT` so a job that fails is rolled back alone, commits once, and
//! only then answers each job. No job is answered before its batch is
//! durable; a crash loses only jobs whose callers have no answer yet. Jobs
//! run in the order they were queued, so two writes to one invitation keep
//! their order. When the commit itself fails (a full disk), or a savepoint
//! cannot be taken or released, every job of the batch gets that error and
//! nothing of the batch stays; the next batch starts afresh.

use crate::StoreError;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, mpsc};

/// Most jobs in one transaction.
pub(super) const MAX_BATCH: usize = 256;
/// Most rows (the weight jobs declare) in one transaction, so that one
/// commit never holds the write lock for long.
pub(super) const MAX_BATCH_WEIGHT: usize = 1000;

/// A queued write: run on the thread, then answered once the batch's fate
/// is known.
trait Job: Send {
    /// About how many rows it writes.
    fn weight(&self) -> usize;
    /// Runs the work; whether it succeeded (its savepoint is kept).
    fn run(&mut self, conn: &rusqlite::Connection) -> bool;
    /// Answers the caller: with the work's result after the commit, or
    /// with why the batch failed.
    fn answer(self: Box<Self>, batch: Result<(), StoreError>);
}

struct Typed<T, F> {
    weight: usize,
    work: Option<F>,
    outcome: Option<Result<T, StoreError>>,
    reply: tokio::sync::oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Job for Typed<T, F>
where
    T: Send,
    F: FnOnce(&rusqlite::Connection) -> Result<T, StoreError> + Send,
{
    fn weight(&self) -> usize {
        self.weight
    }

    fn run(&mut self, conn: &rusqlite::Connection) -> bool {
        let Some(work) = self.work.take() else { return false };
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| work(conn)))
            .unwrap_or_else(|_| Err(StoreError::corrupt("a write panicked")));
        let kept = outcome.is_ok();
        self.outcome = Some(outcome);
        kept
    }

    fn answer(self: Box<Self>, batch: Result<(), StoreError>) {
        let result = match (batch, self.outcome) {
            (Err(e), _) => Err(e),
            (Ok(()), Some(outcome)) => outcome,
            (Ok(()), None) => Err(gone()),
        };
        let _ = self.reply.send(result);
    }
}

/// The handle to the writer thread; dropping the last one ends it.
pub(crate) struct Writer {
    queue: mpsc::Sender<Box<dyn Job>>,
    counts: Arc<Counts>,
}

/// What the thread has done, for `/metrics`.
#[derive(Default)]
struct Counts {
    /// Jobs sent and not yet answered.
    queued: AtomicU64,
    batches: AtomicU64,
    jobs: AtomicU64,
}

/// A reading of [`Counts`].
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct WriterStats {
    pub queued: u64,
    pub batches: u64,
    pub jobs: u64,
}

type WriteTurn = std::sync::Arc<tokio::sync::Mutex<()>>;

impl Writer {
    /// Opens a connection to the database at `path` with `pragmas` and
    /// starts the thread.
    /// Batches take `turn` (shared with the sqlx writer) while they write.
    pub(super) fn start(path: &str, pragmas: &str, turn: WriteTurn) -> Result<Self, StoreError> {
        let conn = rusqlite::Connection::open(path).map_err(from_rusqlite)?;
        conn.execute_batch(pragmas).map_err(from_rusqlite)?;
        let (queue, jobs) = mpsc::channel::<Box<dyn Job>>();
        let counts = Arc::new(Counts::default());
        let thread_counts = counts.clone();
        std::thread::Builder::new()
            .name("invitd-sqlite-writer".into())
            .spawn(move || run(conn, jobs, turn, &thread_counts))
            .map_err(|e| StoreError::Config(format!("cannot start the SQLite writer: {e}")))?;
        Ok(Writer { queue, counts })
    }

    /// How many jobs wait or run now, and how many batches and jobs ran.
    pub(crate) fn stats(&self) -> WriterStats {
        WriterStats {
            queued: self.counts.queued.load(Relaxed),
            batches: self.counts.batches.load(Relaxed),
            jobs: self.counts.jobs.load(Relaxed),
        }
    }

    /// Runs `work`, which writes about `weight` rows, in the next batch;
    /// its answer once the batch committed.
    pub(super) async fn run<T, F>(&self, weight: usize, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job = Typed { weight, work: Some(work), outcome: None, reply };
        self.queue.send(Box::new(job)).map_err(|_| gone())?;
        self.counts.queued.fetch_add(1, Relaxed);
        let answered = answer.await;
        self.counts.queued.fetch_sub(1, Relaxed);
        answered.map_err(|_| gone())?
    }
}

fn gone() -> StoreError {
    StoreError::Unavailable(sqlx::Error::WorkerCrashed)
}

/// The thread: a batch at a time, until every handle is dropped.
fn run(
    conn: rusqlite::Connection,
    jobs: mpsc::Receiver<Box<dyn Job>>,
    turn: WriteTurn,
    counts: &Counts,
) {
    // A job taken from the queue that did not fit the last batch.
    let mut next: Option<Box<dyn Job>> = None;
    loop {
        let first = match next.take() {
            Some(job) => job,
            None => match jobs.recv() {
                Ok(job) => job,
                Err(_) => return,
            },
        };
        let mut weight = first.weight();
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH && weight < MAX_BATCH_WEIGHT {
            match jobs.try_recv() {
                Ok(job) if weight + job.weight() > MAX_BATCH_WEIGHT => {
                    next = Some(job);
                    break;
                }
                Ok(job) => {
                    weight += job.weight();
                    batch.push(job);
                }
                Err(_) => break,
            }
        }
        counts.batches.fetch_add(1, Relaxed);
        counts.jobs.fetch_add(batch.len() as u64, Relaxed);
        let _turn = turn.blocking_lock();
        run_batch(&conn, batch);
    }
}

fn run_batch(conn: &rusqlite::Connection, batch: Vec<Box<dyn Job>>) {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        let e = from_rusqlite(e);
        for job in batch {
            job.answer(Err(copy(&e)));
        }
        return;
    }
    // A batch of one job needs no savepoint (they cost much in a large
    // transaction): when that job fails, the whole transaction goes.
    let alone = batch.len() == 1;
    let mut done = Vec::with_capacity(batch.len());
    let mut failed = None;
    let mut discard = false;
    for mut job in batch {
        if failed.is_none() {
            if alone {
                discard = !job.run(conn);
            } else {
                // A job's own failure is rolled back to its savepoint;
                // failing to manage the savepoints fails the whole batch.
                let step = conn.execute_batch("SAVEPOINT job").and_then(|()| {
                    let kept = job.run(conn);
                    conn.execute_batch(if kept {
                        "RELEASE job"
                    } else {
                        "ROLLBACK TO job; RELEASE job"
                    })
                });
                failed = step.err().map(from_rusqlite);
            }
        }
        done.push(job);
    }
    let committed = match failed {
        Some(e) => Err(e),
        None if discard => conn.execute_batch("ROLLBACK").map_err(from_rusqlite),
        None => conn.execute_batch("COMMIT").map_err(from_rusqlite),
    };
    if committed.is_err() {
        // SQLite may have rolled back already; make sure nothing stays open.
        let _ = conn.execute_batch("ROLLBACK");
    }
    for job in done {
        job.answer(match &committed {
            Ok(()) => Ok(()),
            Err(e) => Err(copy(e)),
        });
    }
}

/// `StoreError` holds a sqlx error, which cannot be cloned; a copy keeps
/// its kind (unavailable or not) and its text.
fn copy(e: &StoreError) -> StoreError {
    match e {
        StoreError::Unavailable(inner) => {
            StoreError::Unavailable(sqlx::Error::Io(std::io::Error::other(inner.to_string())))
        }
        other => StoreError::Database(sqlx::Error::Protocol(other.to_string())),
    }
}

/// A rusqlite error as the store reports it: the SQLite codes that mean a
/// fault outside invitd (busy, locked, full disk, I/O, read-only) are
/// `Unavailable`, a unique index refusing a row is `Conflict`.
pub(super) fn from_rusqlite(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(failure, _) = &e {
        let code = failure.extended_code.to_string();
        if crate::error::sqlite_unavailable(Some(&code)) {
            return StoreError::Unavailable(sqlx::Error::Io(std::io::Error::other(e.to_string())));
        }
        if failure.code == rusqlite::ErrorCode::ConstraintViolation
            && matches!(failure.extended_code, 1555 | 2067)
        {
            return StoreError::Conflict(e.to_string());
        }
    }
    StoreError::Database(sqlx::Error::Protocol(e.to_string()))
}

/// Runs one statement with `args` on the writer's connection; the rows it
/// changed.
pub(super) fn execute(
    conn: &rusqlite::Connection,
    sql: &str,
    args: &[super::args::Arg],
) -> Result<usize, StoreError> {
    let mut statement = conn.prepare_cached(sql).map_err(from_rusqlite)?;
    statement.execute(rusqlite::params_from_iter(args)).map_err(from_rusqlite)
}

/// Runs one query and reads every row it returns.
pub(super) fn query_all<T: super::readers::FromCols>(
    conn: &rusqlite::Connection,
    sql: &str,
    args: &[super::args::Arg],
) -> Result<Vec<T>, StoreError> {
    let mut statement = conn.prepare_cached(sql).map_err(from_rusqlite)?;
    // Checked once here rather than for every column of every row.
    let verified = T::listed_columns().is_some_and(|c| super::rows::selects_first(&statement, c));
    let mut rows = statement.query(rusqlite::params_from_iter(args)).map_err(from_rusqlite)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(from_rusqlite)? {
        out.push(if verified {
            T::from_cols(&super::rows::Verified(row))?
        } else {
            T::from_cols(row)?
        });
    }
    Ok(out)
}

/// Runs one query and reads its first row with `read`; `None` without one.
pub(super) fn query_row<T>(
    conn: &rusqlite::Connection,
    sql: &str,
    args: &[super::args::Arg],
    read: impl FnOnce(&rusqlite::Row<'_>) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    let mut statement = conn.prepare_cached(sql).map_err(from_rusqlite)?;
    let mut rows = statement.query(rusqlite::params_from_iter(args)).map_err(from_rusqlite)?;
    match rows.next().map_err(from_rusqlite)? {
        Some(row) => Ok(Some(read(row)?)),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests;
