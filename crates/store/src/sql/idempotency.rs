//! Stored idempotent answers, and the end of a unit of work that stores one
//! with the writes it describes (see `tx.rs`).

use super::SqlStore;
use super::rows::{from_ms, ms};
use super::tx::roll_back_unfinished;
use crate::{IdempotencyStore, IdempotentAnswer, StoreError, StoredAnswer, Unit, UnitOutcome};
use time::OffsetDateTime;

/// How long an answered idempotency key is remembered.
const IDEMPOTENCY_TTL: time::Duration = time::Duration::hours(24);

/// request hash, answered status, answered body, created at (ms).
type KeyRow = (Vec<u8>, Option<i64>, Option<Vec<u8>>, i64);

#[async_trait::async_trait]
impl IdempotencyStore for SqlStore {
    async fn idempotency_lookup(
        &self,
        scope: &str,
        key: &str,
        now: OffsetDateTime,
    ) -> Result<Option<StoredAnswer>, StoreError> {
        let row: Option<KeyRow> = sqlx::query_as(
            "SELECT request_hash, status, body, created_at FROM idempotency_keys WHERE scope = $1 AND key = $2",
        )
        .bind(scope)
        .bind(key)
        .fetch_optional(&self.reader)
        .await?;
        Ok(match row {
            Some((hash, Some(status), Some(body), created_at))
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
        let state = unit.0.lock().await.take();
        let mut state = match (state, &answer) {
            (None, None) => return Ok(UnitOutcome::Committed),
            (Some(state), _) => state,
            (None, Some(_)) => self.begin_unit().await?,
        };
        roll_back_unfinished(&mut state).await?;
        if let Some(answer) = answer {
            // Takes the key unless another request holds an answer to it
            // that is still remembered (on PostgreSQL this waits for a
            // concurrent holder to commit or roll back).
            let stored = sqlx::query(
                "INSERT INTO idempotency_keys (scope, key, request_hash, status, body, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (scope, key) DO UPDATE SET request_hash = excluded.request_hash, status = excluded.status, body = excluded.body, created_at = excluded.created_at \
                 WHERE idempotency_keys.status IS NULL OR idempotency_keys.created_at <= $7",
            )
            .bind(answer.scope)
            .bind(answer.key)
            .bind(answer.request_hash.as_slice())
            .bind(answer.status as i64)
            .bind(answer.body)
            .bind(ms(answer.now))
            .bind(ms(answer.now - IDEMPOTENCY_TTL))
            .execute(&mut *state.tx)
            .await?;
            if stored.rows_affected() == 0 {
                // Another request with this key answered first: this one's
                // work is undone and the first answer stands.
                state.tx.rollback().await?;
                return match self.idempotency_lookup(answer.scope, answer.key, answer.now).await? {
                    Some(first) => Ok(UnitOutcome::Taken(first)),
                    None => Err(StoreError::Conflict(
                        "the idempotency key was answered and expired at once".into(),
                    )),
                };
            }
        }
        state.tx.commit().await?;
        Ok(UnitOutcome::Committed)
    }
}
