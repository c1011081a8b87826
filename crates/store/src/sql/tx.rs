//! The road of every write, decided in one place ([`SqlStore::road`]), and
//! units of work.
//!
//! A write is a body written once, generic over [`Exec`](super::conn::Exec), and run with
//! [`write!`](crate::sql::write), which asks `road` where it goes:
//!
//! | | outside a unit | inside [`Unit::scope`] |
//! |---|---|---|
//! | SQLite | a job of the writer thread, group-committed with the jobs waiting beside it | a step of the unit's session on the writer thread |
//! | PostgreSQL | a transaction of its own on the pool | a savepoint in the unit's transaction |
//!
//! A unit (a request with an `Idempotency-Key`, or one bulk call) puts all
//! its writes in one transaction, which `commit_unit` (`idempotency.rs`)
//! commits together with the request's stored answer: after a
//! crash a retry finds either nothing (nothing happened) or the answer
//! (everything happened). This file is the only reader of the unit's
//! task-local.

use super::writer::{Session, Writer};
use super::{Db, Pg, SqlStore};
use crate::{StoreError, Unit};
use sqlx::{Executor, PgConnection, Postgres, Transaction};
use std::sync::Arc;
use tokio::sync::{Mutex, OwnedMutexGuard};

/// The savepoint each write of a PostgreSQL unit runs in.
const STEP: &str = "invitd_step";

tokio::task_local! {
    static CURRENT: Unit;
}

/// What a unit holds once its first write began.
#[derive(Default)]
pub(crate) enum UnitState {
    /// Nothing written yet.
    #[default]
    Idle,
    /// SQLite: its session on the writer thread.
    Lite(Session),
    /// PostgreSQL: its transaction, and whether a step was dropped without
    /// finishing (rolled back to its savepoint before the next statement).
    /// It holds its write turn until it ends.
    Pg {
        tx: Transaction<'static, Postgres>,
        unfinished_step: bool,
        _turn: tokio::sync::OwnedSemaphorePermit,
    },
}

/// The longest a PostgreSQL write waits for its turn before it is refused
/// as unavailable (503).
const PG_TURN_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

impl Pg {
    /// A write turn and a transaction begun in it.
    async fn begin(
        &self,
    ) -> Result<(Transaction<'static, Postgres>, tokio::sync::OwnedSemaphorePermit), StoreError>
    {
        use std::sync::atomic::Ordering::Relaxed;
        self.waiting.fetch_add(1, Relaxed);
        let turn = tokio::time::timeout(PG_TURN_WAIT, self.writes.clone().acquire_owned()).await;
        self.waiting.fetch_sub(1, Relaxed);
        let turn = turn
            .map_err(|_| {
                StoreError::Unavailable("no database write turn came free within 60 s".into())
            })?
            .map_err(|_| StoreError::Unavailable("the store is closing".into()))?;
        Ok((self.pool.begin().await?, turn))
    }
}

pub(crate) type SharedUnit = Arc<Mutex<UnitState>>;

impl Unit {
    /// A unit with nothing written yet.
    pub fn new() -> Self {
        Unit(SharedUnit::default())
    }

    /// Whether the running task is inside a unit's scope (its writes join
    /// that unit's transaction).
    pub fn in_scope() -> bool {
        CURRENT.try_with(|_| ()).is_ok()
    }

    /// Runs `work` with every store write it makes joining this unit.
    pub async fn scope<F: Future>(&self, work: F) -> F::Output {
        CURRENT.scope(self.clone(), work).await
    }
}

impl Default for Unit {
    fn default() -> Self {
        Self::new()
    }
}

impl Pg {
    /// Writes waiting for a turn now.
    pub(super) fn waiting(&self) -> u64 {
        self.waiting.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Where one write runs; see the table at the top.
pub(super) enum Road<'s> {
    Lite(LiteRoad<'s>),
    Pg(PgRoad<'s>),
}

/// SQLite: the writer thread, directly or through a unit's session.
pub(super) enum LiteRoad<'s> {
    Thread(&'s Writer),
    Session(OwnedMutexGuard<UnitState>),
}

impl LiteRoad<'_> {
    /// Runs `work` on the writer thread's connection.
    pub(super) async fn run<T, F>(self, weight: usize, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Connection) -> Result<T, StoreError> + Send + 'static,
    {
        match self {
            LiteRoad::Thread(writer) => writer.run(weight, work).await,
            LiteRoad::Session(unit) => match &*unit {
                UnitState::Lite(session) => session.run(work).await,
                _ => Err(StoreError::corrupt("a SQLite unit without its session")),
            },
        }
    }
}

/// PostgreSQL: a transaction of the write's own, or a step of a unit's.
pub(super) enum PgRoad<'s> {
    Own(&'s Pg),
    Step(OwnedMutexGuard<UnitState>),
}

impl PgRoad<'_> {
    /// Runs `body` on the road's connection: commits its own transaction
    /// when the body succeeds, or keeps the unit's step (rolled back to
    /// its savepoint when the body fails).
    pub(super) async fn run<T>(
        self,
        body: impl AsyncFnOnce(&mut PgConnection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        match self {
            PgRoad::Own(pg) => {
                let (mut tx, _turn) = pg.begin().await?;
                let out = body(&mut tx).await?;
                tx.commit().await?;
                Ok(out)
            }
            PgRoad::Step(mut unit) => {
                let UnitState::Pg { tx, unfinished_step, .. } = &mut *unit else {
                    return Err(StoreError::corrupt("a PostgreSQL unit without its transaction"));
                };
                roll_back_unfinished(tx, unfinished_step).await?;
                tx.execute(sqlx::AssertSqlSafe(format!("SAVEPOINT {STEP}"))).await?;
                // Until released: a body dropped half-way is rolled back
                // before the unit's next statement.
                *unfinished_step = true;
                let out = body(tx).await;
                if out.is_ok() {
                    tx.execute(sqlx::AssertSqlSafe(format!("RELEASE SAVEPOINT {STEP}"))).await?;
                    *unfinished_step = false;
                } else {
                    roll_back_unfinished(tx, unfinished_step).await?;
                }
                out
            }
        }
    }
}

pub(super) async fn roll_back_unfinished(
    tx: &mut Transaction<'static, Postgres>,
    unfinished_step: &mut bool,
) -> Result<(), StoreError> {
    if *unfinished_step {
        let sql = format!("ROLLBACK TO SAVEPOINT {STEP}; RELEASE SAVEPOINT {STEP}");
        tx.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(sql))).await?;
        *unfinished_step = false;
    }
    Ok(())
}

/// Runs a write body on the road [`SqlStore::road`] picks: `write!(store,
/// weight, |conn| body)`, where `body` is an expression of type
/// `Result<T, StoreError>` that may `.await` statements on `conn` (a
/// `&mut impl Exec`) and `weight` is about how many rows it writes. The
/// body is compiled twice, once per driver: on SQLite it runs on the
/// writer thread, so what it uses must be owned (`'static`).
macro_rules! write {
    ($store:expr, $weight:expr, |$conn:ident| $body:expr) => {{
        #[allow(unused_imports)]
        use $crate::sql::conn::Exec as _;
        match $store.road().await? {
            $crate::sql::tx::Road::Lite(road) => {
                road.run($weight, move |c| {
                    let $conn = &mut $crate::sql::conn::Lite(c);
                    $crate::sql::writer::ready(async move { $body })
                })
                .await
            }
            $crate::sql::tx::Road::Pg(road) => road.run(async |$conn| $body).await,
        }
    }};
}
pub(crate) use write;

impl SqlStore {
    /// Where the next write goes: the one decision, made from the database
    /// and whether the running task is inside a unit.
    pub(super) async fn road(&self) -> Result<Road<'_>, StoreError> {
        let unit = CURRENT.try_with(|u| u.0.clone()).ok();
        Ok(match (&self.db, unit) {
            (Db::Sqlite(lite), None) => Road::Lite(LiteRoad::Thread(&lite.writer)),
            (Db::Postgres(pg), None) => Road::Pg(PgRoad::Own(pg)),
            (Db::Sqlite(lite), Some(unit)) => {
                let mut state = unit.lock_owned().await;
                if matches!(*state, UnitState::Idle) {
                    *state = UnitState::Lite(lite.writer.open_session()?);
                }
                Road::Lite(LiteRoad::Session(state))
            }
            (Db::Postgres(pg), Some(unit)) => {
                let mut state = unit.lock_owned().await;
                if matches!(*state, UnitState::Idle) {
                    let (tx, _turn) = pg.begin().await?;
                    *state = UnitState::Pg { tx, unfinished_step: false, _turn };
                }
                Road::Pg(PgRoad::Step(state))
            }
        })
    }
}
