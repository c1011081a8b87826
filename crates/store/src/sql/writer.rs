//! The SQLite writer thread: every write to a SQLite database runs here,
//! on one rusqlite connection, synchronously from start to end (no thread
//! hop per statement).
//!
//! Group commit: the thread takes every job waiting in its queue (up to
//! [`MAX_BATCH`] jobs and [`MAX_BATCH_WEIGHT`] rows), runs them in one
//! transaction, each inside its own `SAVEPOINT` so a job that fails is
//! rolled back alone, commits once, and only then answers each job. No job
//! is answered before its batch is durable; a crash loses only jobs whose
//! callers have no answer yet. Jobs run in the order they were queued, so
//! two writes to one invitation keep their order. When the commit itself
//! fails (a full disk), or a savepoint cannot be taken or released, every
//! job of the batch gets that error and nothing of the batch stays; the
//! next batch starts afresh.
//!
//! Sessions: a unit of work (a request with an `Idempotency-Key`, or a
//! bulk call) needs its writes and its stored answer in one transaction,
//! with its own code running between them. It queues a session in the
//! same queue as the jobs; the thread takes sessions and batches of jobs in
//! turn. A session gets a transaction of its own, whose steps run as they
//! come and are answered at once, until the session
//! commits (with its answer) or is dropped (rolled back); a step that
//! fails after it changed rows rolls the whole session back. Jobs that come
//! meanwhile form the batch right after it, so the email and webhook
//! workers get a turn between any two sessions of an import. A session
//! that leaves the thread waiting for its next step longer than its bound
//! in all is rolled back and hears `Unavailable` (503): a stalled request
//! never holds the writer for long, and a write made outside the session
//! while it is open (which would otherwise wait for the session forever)
//! runs once the bound has passed.

use super::conn::from_rusqlite;
use crate::StoreError;
use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, mpsc};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

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
    queue: mpsc::Sender<Msg>,
    counts: Arc<Counts>,
}

/// What the thread's queue carries.
enum Msg {
    Job(Box<dyn Job>),
    /// A session, whose steps come on their own channel.
    Session(mpsc::Receiver<Step>),
}

/// A step of a session.
enum Step {
    /// A write, answered as soon as it ran (its savepoint released or
    /// rolled back).
    Write(Box<dyn Job>),
    /// The last write (a unit's stored answer): `true` commits the
    /// session, `false` rolls it back.
    Finish(Finish),
}

/// The last write of a session: `true` to commit, `false` to roll back.
type LastWrite = Box<dyn FnOnce(&rusqlite::Connection) -> Result<bool, StoreError> + Send>;

struct Finish {
    work: LastWrite,
    reply: tokio::sync::oneshot::Sender<Result<bool, StoreError>>,
}

/// What the thread has done, for `/metrics`.
#[derive(Default)]
struct Counts {
    /// Jobs sent and not yet answered.
    queued: AtomicU64,
    batches: AtomicU64,
    jobs: AtomicU64,
    sessions: AtomicU64,
}

/// A reading of [`Counts`].
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct WriterStats {
    pub queued: u64,
    pub batches: u64,
    pub jobs: u64,
    pub sessions: u64,
}

impl Writer {
    /// Opens a connection to the database at `path` with `pragmas` and
    /// starts the thread; a session may leave it waiting `session_bound`
    /// in all.
    pub(super) fn start(
        path: &str,
        pragmas: &str,
        session_bound: Duration,
    ) -> Result<Self, StoreError> {
        let conn = rusqlite::Connection::open(path).map_err(from_rusqlite)?;
        conn.execute_batch(pragmas).map_err(from_rusqlite)?;
        conn.set_prepared_statement_cache_capacity(128);
        let (queue, jobs) = mpsc::channel::<Msg>();
        let counts = Arc::new(Counts::default());
        let thread_counts = counts.clone();
        std::thread::Builder::new()
            .name("invitd-sqlite-writer".into())
            .spawn(move || run(conn, jobs, session_bound, &thread_counts))
            .map_err(|e| StoreError::Config(format!("cannot start the SQLite writer: {e}")))?;
        Ok(Writer { queue, counts })
    }

    /// How many jobs wait or run now, and how many batches, jobs and
    /// sessions ran.
    pub(crate) fn stats(&self) -> WriterStats {
        WriterStats {
            queued: self.counts.queued.load(Relaxed),
            batches: self.counts.batches.load(Relaxed),
            jobs: self.counts.jobs.load(Relaxed),
            sessions: self.counts.sessions.load(Relaxed),
        }
    }

    /// Runs `work`, which writes about `weight` rows, in the next batch;
    /// its answer once the batch committed.
    pub(super) async fn run<T, F>(&self, weight: usize, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (job, answer) = typed(weight, work);
        self.queue.send(Msg::Job(job)).map_err(|_| gone())?;
        self.counts.queued.fetch_add(1, Relaxed);
        let answered = answer.await;
        self.counts.queued.fetch_sub(1, Relaxed);
        answered.map_err(|_| gone())?
    }

    /// Queues a session; its steps run once the thread reaches it.
    pub(super) fn open_session(&self) -> Result<Session, StoreError> {
        let (steps, receiver) = mpsc::channel();
        self.queue.send(Msg::Session(receiver)).map_err(|_| gone())?;
        Ok(Session { steps })
    }
}

/// A job for `work` and where its answer will come.
fn typed<T, F>(
    weight: usize,
    work: F,
) -> (Box<dyn Job>, tokio::sync::oneshot::Receiver<Result<T, StoreError>>)
where
    T: Send + 'static,
    F: FnOnce(&rusqlite::Connection) -> Result<T, StoreError> + Send + 'static,
{
    let (reply, answer) = tokio::sync::oneshot::channel();
    (Box::new(Typed { weight, work: Some(work), outcome: None, reply }), answer)
}

fn gone() -> StoreError {
    StoreError::Unavailable("the SQLite writer thread stopped".into())
}

fn rolled_back() -> StoreError {
    StoreError::Unavailable(
        "this request's writes were rolled back: it held the database writer past its bound".into(),
    )
}

/// The thread, until every handle is dropped: a batch of the jobs
/// waiting, then one session, then a batch again, and so on. Jobs keep
/// their order among themselves; jobs that come while a session runs go
/// in the batch right after it, so a stream of sessions (an import) cannot
/// starve them, nor a stream of jobs the sessions.
fn run(conn: rusqlite::Connection, queue: mpsc::Receiver<Msg>, bound: Duration, counts: &Counts) {
    let mut jobs: VecDeque<Box<dyn Job>> = VecDeque::new();
    let mut sessions: VecDeque<mpsc::Receiver<Step>> = VecDeque::new();
    let sort = |msg: Msg, jobs: &mut VecDeque<_>, sessions: &mut VecDeque<_>| match msg {
        Msg::Job(job) => jobs.push_back(job),
        Msg::Session(steps) => sessions.push_back(steps),
    };
    loop {
        if jobs.is_empty() && sessions.is_empty() {
            match queue.recv() {
                Ok(msg) => sort(msg, &mut jobs, &mut sessions),
                Err(_) => return,
            }
        }
        while let Ok(msg) = queue.try_recv() {
            sort(msg, &mut jobs, &mut sessions);
        }
        if let Some(first) = jobs.pop_front() {
            let mut weight = first.weight();
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH
                && let Some(job) = jobs.front()
                && weight + job.weight() <= MAX_BATCH_WEIGHT
            {
                weight += job.weight();
                batch.extend(jobs.pop_front());
            }
            counts.batches.fetch_add(1, Relaxed);
            counts.jobs.fetch_add(batch.len() as u64, Relaxed);
            run_batch(&conn, batch);
        }
        if let Some(steps) = sessions.pop_front() {
            counts.sessions.fetch_add(1, Relaxed);
            run_session(&conn, &steps, bound, counts);
        }
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
                failed = in_savepoint(conn, job.as_mut()).err();
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

/// Runs `job` inside a savepoint, rolled back to when the job fails. An
/// error here is about the transaction, not the job: the savepoint could
/// not be taken or ended, or SQLite ended the transaction itself (it does
/// on a full disk or an I/O error).
fn in_savepoint(conn: &rusqlite::Connection, job: &mut dyn Job) -> Result<(), StoreError> {
    conn.execute_batch("SAVEPOINT job").map_err(from_rusqlite)?;
    let kept = job.run(conn);
    if conn.is_autocommit() {
        return Err(StoreError::Unavailable(
            "SQLite rolled the transaction back after a failed statement".into(),
        ));
    }
    let end = if kept { "RELEASE job" } else { "ROLLBACK TO job; RELEASE job" };
    conn.execute_batch(end).map_err(from_rusqlite)
}

/// A copy of an error for each job of a failed batch; it keeps its kind
/// (unavailable, conflict or not) and its text.
fn copy(e: &StoreError) -> StoreError {
    match e {
        StoreError::Unavailable(text) => StoreError::Unavailable(text.clone()),
        StoreError::Conflict(text) => StoreError::Conflict(text.clone()),
        other => StoreError::Database(other.to_string()),
    }
}

/// Polls a write body run on the thread's connection, which never waits
/// (every statement on a [`super::conn::Conn::Lite`] is ready at once),
/// a single time.
pub(super) fn ready<T>(body: impl Future<Output = Result<T, StoreError>>) -> Result<T, StoreError> {
    let mut body = std::pin::pin!(body);
    match body.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => Err(StoreError::corrupt("a write on the writer thread waited")),
    }
}

mod session;
pub(crate) use session::Session;
use session::run_session;

#[cfg(test)]
mod tests;
