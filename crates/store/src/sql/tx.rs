//! Write transactions and units of work.
//!
//! Every write goes through [`SqlStore::write`]. Outside a unit it is a
//! transaction of its own. Inside [`Unit::scope`] (one HTTP request with an
//! `Idempotency-Key`) every write joins the unit's one transaction as a
//! savepoint, and `commit_unit` (in `idempotency.rs`) stores the request's
//! answer in that same transaction before committing: after a crash a retry
//! finds either nothing (nothing happened) or the answer (everything
//! happened).
//!
//! A write that fails inside SQLite (a full disk, an I/O error) can leave
//! the connection in a state sqlx no longer tracks (SQLite rolled the
//! transaction back itself, sqlx still counts it as open, and every later
//! `BEGIN` is refused). The writer then drops that connection and opens a
//! fresh one, so the first write after the fault clears succeeds.

use super::SqlStore;
use crate::{StoreError, Unit};
use sqlx::{Any, AnyConnection, Executor, Transaction};
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use tokio::sync::{Mutex, OwnedMappedMutexGuard, OwnedMutexGuard};

/// The savepoint each write of a unit runs in.
const STEP: &str = "invitd_step";

tokio::task_local! {
    static CURRENT: Unit;
}

/// SQLite's one write lock, taken in process: the sqlx writer connection
/// and the writer thread (`writer.rs`) take turns through it in the order
/// they asked, instead of polling the file lock with SQLite's busy handler
/// (which sleeps up to 100 ms between tries).
pub(crate) type Turn = tokio::sync::OwnedMutexGuard<()>;

/// What a unit holds once its first write began.
pub struct UnitState {
    pub(super) tx: Transaction<'static, Any>,
    /// Held until the unit's transaction ends (SQLite).
    pub(super) _turn: Option<Turn>,
    /// A step was dropped without finishing: roll back to its savepoint
    /// before the next statement.
    pub(super) unfinished_step: bool,
}

pub(crate) type SharedUnit = Arc<Mutex<Option<UnitState>>>;

/// Whether the running task is inside a unit (a request with an
/// `Idempotency-Key`), whose writes share the unit's transaction.
pub(crate) fn in_unit() -> bool {
    CURRENT.try_with(|_| ()).is_ok()
}

impl Unit {
    /// A unit with nothing written yet.
    pub fn new() -> Self {
        Unit(SharedUnit::default())
    }

    /// Whether the running task is inside a unit's scope (its writes join
    /// that unit's transaction).
    pub fn in_scope() -> bool {
        in_unit()
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

/// A write in progress: a transaction of its own, or a step of a unit.
pub(super) struct WriteTx {
    inner: Option<Inner>,
}

enum Inner {
    Own(Transaction<'static, Any>, Option<Turn>),
    Step(OwnedMappedMutexGuard<Option<UnitState>, UnitState>),
}

impl WriteTx {
    /// Records the event that says what the write did, and commits both.
    pub(super) async fn commit_with(
        mut self,
        event: super::events::NewEvent<'_>,
    ) -> Result<(), StoreError> {
        super::events::insert_event(&mut *self, event).await?;
        self.commit().await
    }

    /// Commits with the admin event `change` about `subject`, at `at`.
    pub(super) async fn commit_about(
        self,
        subject: &impl super::events::Subject,
        change: invitd_core::EventType,
        audit: &crate::Audit,
        at: time::OffsetDateTime,
    ) -> Result<(), StoreError> {
        let (tenant, data) = subject.event_subject();
        self.commit_with(super::events::NewEvent::admin(Some(tenant), change, audit, at, &data))
            .await
    }

    /// Makes the write durable (or, in a unit, part of the unit).
    pub(super) async fn commit(mut self) -> Result<(), StoreError> {
        match self.inner.take() {
            Some(Inner::Own(tx, _turn)) => tx.commit().await?,
            Some(Inner::Step(mut unit)) => {
                // Still unfinished if releasing fails: the drop below rolls
                // it back.
                let released = (&mut *unit.tx)
                    .execute(sqlx::AssertSqlSafe(format!("RELEASE SAVEPOINT {STEP}")))
                    .await;
                if released.is_err() {
                    unit.unfinished_step = true;
                }
                released?;
            }
            None => {}
        }
        Ok(())
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        // A transaction of its own rolls back as sqlx drops it; a step is
        // rolled back to its savepoint before the unit's next statement.
        if let Some(Inner::Step(unit)) = &mut self.inner {
            unit.unfinished_step = true;
        }
    }
}

impl Deref for WriteTx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        match &self.inner {
            Some(Inner::Own(tx, _)) => tx,
            Some(Inner::Step(unit)) => &unit.tx,
            None => unreachable!("a finished write is not used again"),
        }
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match &mut self.inner {
            Some(Inner::Own(tx, _)) => tx,
            Some(Inner::Step(unit)) => &mut unit.tx,
            None => unreachable!("a finished write is not used again"),
        }
    }
}

/// Whether a failed `BEGIN` means the writer connection is stuck (sqlx
/// counts a transaction SQLite already ended, or the reverse), as opposed
/// to the database being busy or away.
fn stuck_connection(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::InvalidSavePointStatement | sqlx::Error::BeginFailed => true,
        sqlx::Error::Database(db) => {
            db.message().contains("cannot start a transaction within a transaction")
        }
        _ => false,
    }
}

pub(super) async fn roll_back_unfinished(state: &mut UnitState) -> Result<(), StoreError> {
    if state.unfinished_step {
        (&mut *state.tx)
            .execute(sqlx::AssertSqlSafe(format!(
                "ROLLBACK TO SAVEPOINT {STEP}; RELEASE SAVEPOINT {STEP}"
            )))
            .await?;
        state.unfinished_step = false;
    }
    Ok(())
}

impl SqlStore {
    /// Begins a write: a step of the current unit if there is one, else a
    /// transaction of its own.
    pub(super) async fn write(&self) -> Result<WriteTx, StoreError> {
        let Ok(unit) = CURRENT.try_with(|u| u.0.clone()) else {
            let (tx, turn) = self.begin().await?;
            return Ok(WriteTx { inner: Some(Inner::Own(tx, turn)) });
        };
        let mut guard = unit.lock_owned().await;
        if guard.is_none() {
            *guard = Some(self.begin_unit().await?);
        }
        let mut step = OwnedMutexGuard::try_map(guard, Option::as_mut)
            .map_err(|_| StoreError::Config("unit without a transaction".into()))?;
        roll_back_unfinished(&mut step).await?;
        (&mut *step.tx).execute(sqlx::AssertSqlSafe(format!("SAVEPOINT {STEP}"))).await?;
        Ok(WriteTx { inner: Some(Inner::Step(step)) })
    }

    /// Begins the transaction of a unit.
    pub(super) async fn begin_unit(&self) -> Result<UnitState, StoreError> {
        let (tx, turn) = self.begin().await?;
        Ok(UnitState { tx, _turn: turn, unfinished_step: false })
    }

    /// Begins a transaction on the writer, replacing a stuck connection;
    /// on SQLite, with the write turn it holds until the transaction ends.
    pub(super) async fn begin(
        &self,
    ) -> Result<(Transaction<'static, Any>, Option<Turn>), StoreError> {
        use std::sync::atomic::Ordering;
        self.writes_waiting.fetch_add(1, Ordering::Relaxed);
        let turn = match &self.write_turn {
            Some(turn) => Some(turn.clone().lock_owned().await),
            None => None,
        };
        let begun = self.begin_on_writer().await;
        self.writes_waiting.fetch_sub(1, Ordering::Relaxed);
        Ok((begun?, turn))
    }

    async fn begin_on_writer(&self) -> Result<Transaction<'static, Any>, StoreError> {
        let begun = self.writer.begin_with(self.dialect.begin()).await;
        match begun {
            Err(e) if stuck_connection(&e) => {
                tracing::warn!(error = %e, "the database writer connection was left inside a failed transaction; replacing it");
                let conn = self.writer.acquire().await?;
                // Closing ends whatever SQLite still holds open.
                let _ = sqlx::Connection::close_hard(conn.detach()).await;
                Ok(self.writer.begin_with(self.dialect.begin()).await?)
            }
            other => Ok(other?),
        }
    }
}
