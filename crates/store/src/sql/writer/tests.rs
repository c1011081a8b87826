//! Group commit on a real SQLite file: the batch's jobs succeed or fail
//! alone, nobody hears back before the commit, and order holds.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::{MAX_BATCH, MAX_BATCH_WEIGHT, Writer};
use crate::StoreError;
use crate::sql::conn::{Arg, lite_execute as execute};
use std::sync::{Arc, mpsc};

/// How long a session may leave the thread waiting, in these tests.
const BOUND: std::time::Duration = std::time::Duration::from_millis(500);

const PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000;";

fn setup() -> (tempfile::TempDir, String, Arc<Writer>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db").display().to_string();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)").unwrap();
    let writer = Writer::start(&path, PRAGMAS, BOUND).unwrap();
    (dir, path, Arc::new(writer))
}

fn put(k: &str, v: i64) -> impl FnOnce(&rusqlite::Connection) -> Result<(), StoreError> + use<> {
    let k = k.to_string();
    move |conn| {
        execute(
            conn,
            "INSERT INTO t (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = excluded.v",
            &[Arg::text(k), Arg::int(v)],
        )
        .map(drop)
    }
}

fn insert(k: &str) -> impl FnOnce(&rusqlite::Connection) -> Result<(), StoreError> + use<> {
    let k = k.to_string();
    move |conn| execute(conn, "INSERT INTO t (k, v) VALUES ($1, 0)", &[Arg::text(k)]).map(drop)
}

/// What another connection sees: only what is committed.
fn committed(path: &str, k: &str) -> Option<i64> {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("SELECT v FROM t WHERE k = ?1", [k], |r| r.get(0)).ok()
}

/// Holds the writer thread inside a job until the returned sender is
/// dropped, so that the jobs queued meanwhile form the next batch.
async fn hold(writer: &Arc<Writer>) -> (mpsc::Sender<()>, tokio::task::JoinHandle<()>) {
    let (release, wait) = mpsc::channel::<()>();
    let (held, is_held) = tokio::sync::oneshot::channel::<()>();
    let w = writer.clone();
    let job = tokio::spawn(async move {
        w.run(1, move |_| {
            let _ = held.send(());
            let _ = wait.recv();
            Ok(())
        })
        .await
        .unwrap();
    });
    is_held.await.unwrap();
    (release, job)
}

/// Queues `work` from a task of its own (tasks of this single-threaded
/// runtime start in the order they were spawned).
fn queue<T: Send + 'static>(
    writer: &Arc<Writer>,
    work: impl FnOnce(&rusqlite::Connection) -> Result<T, StoreError> + Send + 'static,
) -> tokio::task::JoinHandle<Result<T, StoreError>> {
    queue_weighing(writer, 1, work)
}

/// [`queue`] for a job that declares it writes `weight` rows.
fn queue_weighing<T: Send + 'static>(
    writer: &Arc<Writer>,
    weight: usize,
    work: impl FnOnce(&rusqlite::Connection) -> Result<T, StoreError> + Send + 'static,
) -> tokio::task::JoinHandle<Result<T, StoreError>> {
    let w = writer.clone();
    tokio::spawn(async move { w.run(weight, work).await })
}

/// Lets the spawned tasks queue their jobs, then lets the writer go on.
async fn release_after_queuing(release: mpsc::Sender<()>, holder: tokio::task::JoinHandle<()>) {
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    drop(release);
    holder.await.unwrap();
}

#[tokio::test]
async fn a_failing_job_is_rolled_back_alone_and_the_rest_of_its_batch_commits() {
    let (_dir, path, writer) = setup();
    let (release, holder) = hold(&writer).await;
    let first = queue(&writer, insert("a"));
    // Writes a row of its own, then breaks the primary key: both undone.
    let failing = queue(&writer, |conn| {
        insert("side effect")(conn)?;
        insert("a")(conn)
    });
    let last = queue(&writer, insert("b"));
    release_after_queuing(release, holder).await;

    first.await.unwrap().unwrap();
    assert!(matches!(failing.await.unwrap(), Err(StoreError::Conflict(_))));
    last.await.unwrap().unwrap();
    assert_eq!(committed(&path, "a"), Some(0));
    assert_eq!(committed(&path, "b"), Some(0));
    assert_eq!(committed(&path, "side effect"), None, "the failed job's own write is undone");
    // The holder's batch, then one batch of the three.
    let stats = writer.stats();
    assert_eq!((stats.batches, stats.jobs, stats.queued), (2, 4, 0), "{stats:?}");
}

#[tokio::test]
async fn no_job_hears_back_before_its_batch_is_committed() {
    let (_dir, path, writer) = setup();
    let mut tasks = Vec::new();
    for i in 0..(3 * MAX_BATCH) {
        let (w, path) = (writer.clone(), path.clone());
        tasks.push(tokio::spawn(async move {
            let key = format!("k{i}");
            w.run(1, put(&key, i as i64)).await.unwrap();
            // Answered: another connection must see it already.
            assert_eq!(committed(&path, &key), Some(i as i64), "{key} answered before commit");
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

#[tokio::test]
async fn writes_to_one_row_keep_the_order_they_were_queued_in() {
    let (_dir, path, writer) = setup();
    let (release, holder) = hold(&writer).await;
    // Queued in this order while the thread is held: one batch runs them.
    // Each sets x and notes how many jobs ran before it.
    let runs: Vec<_> = (1..=50)
        .map(|v| {
            queue(&writer, move |conn| {
                put("x", v)(conn)?;
                let sql = "INSERT INTO t (k, v) SELECT $1, count(*) FROM t WHERE k LIKE 'ran %'";
                execute(conn, sql, &[Arg::text(format!("ran {v}"))]).map(drop)
            })
        })
        .collect();
    release_after_queuing(release, holder).await;
    for r in runs {
        r.await.unwrap().unwrap();
    }
    assert_eq!(committed(&path, "x"), Some(50));
    for v in 1..=50 {
        assert_eq!(committed(&path, &format!("ran {v}")), Some(v - 1), "job {v} ran out of turn");
    }
}

#[tokio::test]
async fn a_batch_holds_at_most_its_bound_of_jobs_and_of_rows() {
    let (_dir, _path, writer) = setup();
    // Rows: three jobs of 400 rows make a batch of two and one of one.
    let (release, holder) = hold(&writer).await;
    let heavy: Vec<_> =
        (0..3).map(|i| queue_weighing(&writer, 400, insert(&format!("heavy {i}")))).collect();
    release_after_queuing(release, holder).await;
    for job in heavy {
        job.await.unwrap().unwrap();
    }
    const { assert!(2 * 400 <= MAX_BATCH_WEIGHT && 3 * 400 > MAX_BATCH_WEIGHT) };
    let stats = writer.stats();
    assert_eq!((stats.batches, stats.jobs), (1 + 2, 1 + 3), "{stats:?}");
    // Jobs: MAX_BATCH + 10 light jobs make a full batch and one of ten.
    let (release, holder) = hold(&writer).await;
    let light: Vec<_> =
        (0..MAX_BATCH + 10).map(|i| queue(&writer, insert(&format!("light {i}")))).collect();
    release_after_queuing(release, holder).await;
    for job in light {
        job.await.unwrap().unwrap();
    }
    let stats = writer.stats();
    assert_eq!(stats.batches, 3 + 1 + 2, "{stats:?}");
    assert_eq!(stats.queued, 0);
}

#[tokio::test]
async fn a_batch_that_cannot_commit_fails_all_its_jobs_and_the_next_one_works() {
    let (_dir, path, writer) = setup();
    // Another connection holds the write lock past the writer's busy
    // timeout: the batch cannot begin, every job hears so.
    let blocker = rusqlite::Connection::open(&path).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let refused = writer.run(1, insert("late")).await;
    assert!(matches!(refused, Err(StoreError::Unavailable(_))), "{refused:?}");
    blocker.execute_batch("ROLLBACK").unwrap();
    writer.run(1, insert("late")).await.unwrap();
    assert_eq!(committed(&path, "late"), Some(0));
}

/// A session's steps are answered at once, but nothing of it is seen
/// before it commits; then all of it is.
#[tokio::test]
async fn a_session_commits_all_its_steps_at_its_end() {
    let (_dir, path, writer) = setup();
    let session = writer.open_session().unwrap();
    session.run(insert("s1")).await.unwrap();
    session.run(insert("s2")).await.unwrap();
    assert_eq!(committed(&path, "s1"), None, "not before the end");
    assert!(session.finish(|conn| insert("answer")(conn).map(|()| true)).await.unwrap());
    for k in ["s1", "s2", "answer"] {
        assert_eq!(committed(&path, k), Some(0), "{k}");
    }
}

/// A step refused before it changed a row leaves the session going; one
/// that fails after it changed rows rolls the whole session back, and the
/// session's later steps hear that it was.
#[tokio::test]
async fn a_step_that_fails_half_way_rolls_its_session_back() {
    let (_dir, path, writer) = setup();
    writer.run(1, insert("taken")).await.unwrap();
    let session = writer.open_session().unwrap();
    session.run(insert("kept")).await.unwrap();
    let refused = session.run(insert("taken")).await;
    assert!(matches!(refused, Err(StoreError::Conflict(_))), "{refused:?}");
    assert!(session.finish(|_| Ok(true)).await.unwrap());
    assert_eq!(committed(&path, "kept"), Some(0), "a refused step undoes nothing else");

    let session = writer.open_session().unwrap();
    session.run(insert("lost")).await.unwrap();
    let half = session
        .run(|conn| {
            insert("half")(conn)?;
            insert("taken")(conn)
        })
        .await;
    assert!(matches!(half, Err(StoreError::Conflict(_))), "{half:?}");
    let after = session.run(insert("after")).await;
    assert!(matches!(after, Err(StoreError::Unavailable(_))), "{after:?}");
    for k in ["lost", "half", "after"] {
        assert_eq!(committed(&path, k), None, "{k} was rolled back");
    }
    // The thread goes on.
    writer.run(1, insert("next")).await.unwrap();
    assert_eq!(committed(&path, "next"), Some(0));
}

/// A session that leaves the thread waiting past its bound is rolled back;
/// the jobs queued behind it run once the bound has passed.
#[tokio::test]
async fn a_stalled_session_is_rolled_back_at_its_bound_and_the_jobs_go_on() {
    let (_dir, path, writer) = setup();
    let session = writer.open_session().unwrap();
    session.run(insert("stalled")).await.unwrap();
    let started = std::time::Instant::now();
    let job = queue(&writer, insert("behind"));
    job.await.unwrap().unwrap();
    let waited = started.elapsed();
    assert!(waited >= BOUND / 2, "the job ran while the session held the thread: {waited:?}");
    assert!(waited < BOUND * 4, "the job waited past the bound: {waited:?}");
    let late = session.finish(|_| Ok(true)).await;
    assert!(matches!(late, Err(StoreError::Unavailable(_))), "{late:?}");
    assert_eq!(committed(&path, "stalled"), None);
    assert_eq!(committed(&path, "behind"), Some(0));
}

/// Jobs queued while a session runs go in the batch right after it, ahead
/// of the sessions queued meanwhile: a stream of sessions cannot starve
/// them.
#[tokio::test]
async fn jobs_queued_behind_sessions_run_before_the_next_session() {
    let (_dir, path, writer) = setup();
    let first = writer.open_session().unwrap();
    first.run(insert("first")).await.unwrap();
    // Queued while the first runs: a second session, then a job.
    let second = writer.open_session().unwrap();
    let job = queue(&writer, insert("job"));
    tokio::task::yield_now().await;
    assert!(first.finish(|_| Ok(true)).await.unwrap());
    // The job is done without the second session taking a step.
    tokio::time::timeout(BOUND / 2, job)
        .await
        .expect("the job waited for a session")
        .unwrap()
        .unwrap();
    assert_eq!(committed(&path, "job"), Some(0));
    second.run(insert("second")).await.unwrap();
    assert!(second.finish(|_| Ok(true)).await.unwrap());
    assert_eq!(committed(&path, "second"), Some(0));
}
