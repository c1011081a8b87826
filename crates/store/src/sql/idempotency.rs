//! Stored idempotent answers, and the end of a unit of work that stores one
//! with the writes it describes (see `tx.rs`).

use super::conn::{Arg, Cols, Exec, FromCols, Lite};
use super::rows::{from_ms, ms};
use super::tx::{LiteRoad, PgRoad, UnitState, roll_back_unfinished};
use super::writer::ready;
use super::{Db, SqlStore};
use crate::{IdempotencyStore, IdempotentAnswer, StoreError, StoredAnswer, Unit, UnitOutcome};
use time::OffsetDateTime;

/// How long an answered idempotency key is remembered.
const IDEMPOTENCY_TTL: time::Duration = time::Duration::hours(24);

/// A stored key: request hash, answered status, answered body, created at.
struct KeyRow(Vec<u8>, Option<i64>, Option<Vec<u8>>, i64);

impl FromCols for KeyRow {
    fn from_cols(row: &impl Cols) -> Result<Self, StoreError> {
        Ok(KeyRow(row.col_at(0)?, row.col_at(1)?, row.col_at(2)?, row.col_at(3)?))
    }
}

/// Takes the key unless another request holds an answer to it that is
/// still remembered (on PostgreSQL this waits for a concurrent holder to
/// commit or roll back); with [`answer_args`].
const STORE_ANSWER: &str = "INSERT INTO idempotency_keys (scope, key, request_hash, status, body, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
     ON CONFLICT (scope, key) DO UPDATE SET request_hash = excluded.request_hash, status = excluded.status, body = excluded.body, created_at = excluded.created_at \
     WHERE idempotency_keys.status IS NULL OR idempotency_keys.created_at <= $7";

fn answer_args(a: &IdempotentAnswer<'_>) -> Vec<Arg> {
    vec![
        Arg::text(a.scope),
        Arg::text(a.key),
        Arg::blob(a.request_hash.as_slice()),
        Arg::int(i64::from(a.status)),
        Arg::blob(a.body),
        Arg::int(ms(a.now)),
        Arg::int(ms(a.now - IDEMPOTENCY_TTL)),
    ]
}

/// Stores the answer; whether the key was free to take.
async fn store_answer(conn: &mut impl Exec, args: &[Arg]) -> Result<bool, StoreError> {
    Ok(conn.execute(STORE_ANSWER, args).await? == 1)
}

#[async_trait::async_trait]
impl IdempotencyStore for SqlStore {
    async fn idempotency_lookup(
        &self,
        scope: &str,
        key: &str,
        now: OffsetDateTime,
    ) -> Result<Option<StoredAnswer>, StoreError> {
        let sql = "SELECT request_hash, status, body, created_at FROM idempotency_keys WHERE scope = $1 AND key = $2";
        let row: Option<KeyRow> = self.read_opt(sql, &[Arg::text(scope), Arg::text(key)]).await?;
        Ok(match row {
            Some(KeyRow(hash, Some(status), Some(body), created_at))
                if from_ms(created_at)? + IDEMPOTENCY_TTL > now =>
            {
                Some(StoredAnswer { request_hash: hash, status: status as u16, body })
            }
            // Expired, or left unanswered by an older version: as if absent.
            _ => None,
        })
    }

    async fn commit_unit(
        &self,
        unit: Unit,
        answer: Option<IdempotentAnswer<'_>>,
    ) -> Result<UnitOutcome, StoreError> {
        let state = std::mem::take(&mut *unit.0.lock().await);
        let args = answer.as_ref().map(answer_args);
        let stored = match (state, args) {
            (UnitState::Idle, None) => true,
            // Nothing written: the answer is a write of its own.
            (UnitState::Idle, Some(args)) => match &self.db {
                Db::Sqlite(lite) => {
                    let on_thread =
                        move |c: &rusqlite::Connection| ready(store_answer(&mut Lite(c), &args));
                    LiteRoad::Thread(&lite.writer).run(1, on_thread).await?
                }
                Db::Postgres(pg) => {
                    PgRoad::Own(pg).run(async |c| store_answer(c, &args).await).await?
                }
            },
            (UnitState::Lite(session), args) => {
                let last = move |c: &rusqlite::Connection| match args {
                    Some(args) => ready(store_answer(&mut Lite(c), &args)),
                    None => Ok(true),
                };
                session.finish(last).await?
            }
            (UnitState::Pg { mut tx, mut unfinished_step, .. }, args) => {
                roll_back_unfinished(&mut tx, &mut unfinished_step).await?;
                let stored = match &args {
                    Some(args) => store_answer(&mut *tx, args).await?,
                    None => true,
                };
                if stored {
                    tx.commit().await?;
                } else {
                    tx.rollback().await?;
                }
                stored
            }
        };
        if stored {
            return Ok(UnitOutcome::Committed);
        }
        // Another request with this key answered first: this one's work is
        // undone and the first answer stands.
        let Some(answer) = answer else {
            return Err(StoreError::corrupt("a unit without an answer was refused"));
        };
        match self.idempotency_lookup(answer.scope, answer.key, answer.now).await? {
            Some(first) => Ok(UnitOutcome::Taken(first)),
            None => Err(StoreError::Conflict(
                "the idempotency key was answered and expired at once".into(),
            )),
        }
    }
}
