//! Stored idempotent answers, and the end of a unit of work that stores one
//! with the writes it describes (see `tx.rs`).

use super::SqlStore;
use super::conn::{Arg, Cols, Exec, FromCols, Lite};
use super::rows::{from_ms, ms};
use super::tx::{UnitState, roll_back_unfinished, write};
use super::writer::ready;
use crate::{IdempotencyStore, IdempotentAnswer, StoreError, StoredAnswer, Unit, UnitOutcome};
use time::OffsetDateTime;

/// How long an answered idempotency key is remembered.
const IDEMPOTENCY_TTL: time::Duration = time::Duration::hours(24);

/// A stored key: request hash, answered status, answered body (as kept),
/// created at, how the body is kept.
struct KeyRow(Vec<u8>, Option<i64>, Option<Vec<u8>>, i64, Option<String>);

impl FromCols for KeyRow {
    fn from_cols(row: &impl Cols) -> Result<Self, StoreError> {
        let (hash, status, body) = (row.col_at(0)?, row.col_at(1)?, row.col_at(2)?);
        Ok(KeyRow(hash, status, body, row.col_at(3)?, row.col_at(4)?))
    }
}

/// Bodies at least this long are kept compressed. An answer of 1,000
/// invitations is about 760 KB of JSON and 6–8× smaller compressed: less
/// for the SQLite writer thread to write inside the request's transaction,
/// less on disk for the 24 h it is kept.
const COMPRESS_FROM: usize = 1024;

/// How a body is kept: as sent (`None`), or compressed (`deflate`).
fn keep(body: &[u8]) -> (Vec<u8>, Option<&'static str>) {
    use std::io::Write;
    if body.len() < COMPRESS_FROM {
        return (body.to_vec(), None);
    }
    let mut encoder = flate2::write::DeflateEncoder::new(
        Vec::with_capacity(body.len() / 4),
        flate2::Compression::fast(),
    );
    match encoder.write_all(body).and_then(|()| encoder.finish()) {
        Ok(compressed) => (compressed, Some("deflate")),
        // Writing into memory does not fail; kept as sent all the same.
        Err(_) => (body.to_vec(), None),
    }
}

/// A body as it was sent, from how it is kept.
fn unkeep(kept: Vec<u8>, encoding: Option<&str>) -> Result<Vec<u8>, StoreError> {
    use std::io::Read;
    match encoding {
        None => Ok(kept),
        Some("deflate") => {
            let mut body = Vec::with_capacity(kept.len() * 6);
            flate2::read::DeflateDecoder::new(kept.as_slice())
                .read_to_end(&mut body)
                .map_err(StoreError::corrupt)?;
            Ok(body)
        }
        Some(other) => Err(StoreError::corrupt(format!("a body kept as {other:?}"))),
    }
}

/// Takes the key unless another request holds an answer to it that is
/// still remembered (on PostgreSQL this waits for a concurrent holder to
/// commit or roll back); with [`answer_args`].
const STORE_ANSWER: &str = "INSERT INTO idempotency_keys (scope, key, request_hash, status, body, created_at, body_encoding) VALUES ($1, $2, $3, $4, $5, $6, $8) \
     ON CONFLICT (scope, key) DO UPDATE SET request_hash = excluded.request_hash, status = excluded.status, body = excluded.body, created_at = excluded.created_at, body_encoding = excluded.body_encoding \
     WHERE idempotency_keys.status IS NULL OR idempotency_keys.created_at <= $7";

/// The arguments of [`STORE_ANSWER`], the body compressed here (on the
/// request's task), not on the writer thread.
fn answer_args(a: &IdempotentAnswer<'_>) -> Vec<Arg> {
    let (body, encoding) = keep(a.body);
    vec![
        Arg::text(a.scope),
        Arg::text(a.key),
        Arg::blob(a.request_hash.as_slice()),
        Arg::int(i64::from(a.status)),
        Arg::blob(body),
        Arg::int(ms(a.now)),
        Arg::int(ms(a.now - IDEMPOTENCY_TTL)),
        Arg::opt_text(encoding),
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
        let sql = "SELECT request_hash, status, body, created_at, body_encoding FROM idempotency_keys WHERE scope = $1 AND key = $2";
        let row: Option<KeyRow> = self.read_opt(sql, &[Arg::text(scope), Arg::text(key)]).await?;
        Ok(match row {
            Some(KeyRow(hash, Some(status), Some(body), created_at, encoding))
                if from_ms(created_at)? + IDEMPOTENCY_TTL > now =>
            {
                let body = unkeep(body, encoding.as_deref())?;
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
            // Nothing written: the answer is a write of its own (this runs
            // outside the unit's scope, so `write!` takes the plain road).
            (UnitState::Idle, Some(args)) => {
                write!(self, 1, |conn| store_answer(conn, &args).await)?
            }
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::{keep, unkeep};

    /// A long body is kept compressed and comes back byte for byte; a short
    /// one is kept as sent; an unknown way of keeping is an error.
    #[test]
    fn bodies_come_back_as_they_were_sent() {
        let long: Vec<u8> =
            (0..5000).flat_map(|i| format!("{{\"n\":{i}}},").into_bytes()).collect();
        let (kept, encoding) = keep(&long);
        assert_eq!(encoding, Some("deflate"));
        assert!(kept.len() * 2 < long.len(), "{} of {}", kept.len(), long.len());
        assert_eq!(unkeep(kept, encoding).unwrap(), long);
        let short = b"{\"ok\":true}".to_vec();
        assert_eq!(keep(&short), (short.clone(), None));
        assert_eq!(unkeep(short.clone(), None).unwrap(), short);
        assert!(unkeep(short, Some("zip")).is_err());
    }
}
