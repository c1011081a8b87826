//! The store's error: domain outcomes (`NotFound`, `Conflict`, `Lifecycle`)
//! apart from database failures.

use invitd_core::LifecycleError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row does not exist (or belongs to another tenant).
    #[error("not found")]
    NotFound,
    /// A uniqueness rule refused the write.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The lifecycle refused the transition.
    #[error(transparent)]
    Lifecycle(#[from] LifecycleError),
    /// The database URL or options are unusable.
    #[error("configuration: {0}")]
    Config(String),
    /// A stored value could not be read back.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The database cannot take the request now, for reasons outside
    /// invitd: down or unreachable, a full disk, a read-only or locked file,
    /// an I/O error, or a keyed request that held the SQLite writer past
    /// its bound. Clients should retry later.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The database failed.
    #[error("database: {0}")]
    Database(String),
    /// PostgreSQL: sqlx's migrator failed or refused the database.
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// SQLite: a migration failed, or the record of applied migrations
    /// does not match this build's files.
    #[error("migration: {0}")]
    MigrateSqlite(String),
}

impl StoreError {
    /// A `Conflict` said in the store's words (`what`); any other error
    /// through.
    pub fn conflict_as(self, what: &str) -> Self {
        match self {
            StoreError::Conflict(_) => StoreError::Conflict(what.into()),
            other => other,
        }
    }

    pub fn corrupt(what: impl std::fmt::Display) -> Self {
        StoreError::Corrupt(what.to_string())
    }
}

/// The one classification of PostgreSQL's errors (sqlx): a fault outside
/// invitd is `Unavailable`, a unique index refusing a row `Conflict`, as
/// [`classify_sqlite`] does for SQLite.
impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        let text = e.to_string();
        match &e {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::BeginFailed => StoreError::Unavailable(text),
            sqlx::Error::Database(db) if db.is_unique_violation() => unique_violation(),
            sqlx::Error::Database(db) if postgres_unavailable(db.code().as_deref()) => {
                StoreError::Unavailable(text)
            }
            _ => StoreError::Database(text),
        }
    }
}

/// A unique index refused a row: the same error, with the same words, on
/// both databases (callers that know what the row was say so with
/// [`StoreError::conflict_as`]).
fn unique_violation() -> StoreError {
    StoreError::Conflict("a record with this key exists".into())
}

/// The one classification of SQLite's errors (rusqlite), by extended
/// result code: a fault outside invitd is `Unavailable`, a unique index
/// (or primary key) refusing a row `Conflict`.
pub(crate) fn classify_sqlite(extended_code: i32, text: String) -> StoreError {
    if sqlite_unavailable(Some(&extended_code.to_string())) {
        StoreError::Unavailable(text)
    } else if matches!(extended_code, 1555 | 2067) {
        // SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_CONSTRAINT_UNIQUE
        unique_violation()
    } else {
        StoreError::Database(text)
    }
}

/// SQLite result codes (the primary code is the low byte of the extended
/// one): BUSY 5 and LOCKED 6 (another connection holds the lock past the
/// busy timeout), NOMEM 7, READONLY 8, IOERR 10, FULL 13 (disk or
/// `max_page_count`), CANTOPEN 14, PROTOCOL 15.
pub(crate) fn sqlite_unavailable(code: Option<&str>) -> bool {
    code.and_then(|c| c.parse::<u32>().ok())
        .is_some_and(|c| matches!(c & 0xff, 5 | 6 | 7 | 8 | 10 | 13 | 14 | 15))
}

/// SQLSTATE classes 08 (connection exception), 53 (insufficient resources:
/// disk full, out of memory, too many connections), 57P (shutdown,
/// restart), and 25006 (a read-only standby).
fn postgres_unavailable(code: Option<&str>) -> bool {
    code.is_some_and(|c| {
        c.starts_with("08") || c.starts_with("53") || c.starts_with("57P") || c == "25006"
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_codes() {
        for (code, want) in [
            ("5", true),     // SQLITE_BUSY
            ("517", true),   // SQLITE_BUSY_SNAPSHOT
            ("13", true),    // SQLITE_FULL
            ("8", true),     // SQLITE_READONLY
            ("1032", true),  // SQLITE_READONLY_DBMOVED
            ("10", true),    // SQLITE_IOERR
            ("778", true),   // SQLITE_IOERR_WRITE
            ("2067", false), // SQLITE_CONSTRAINT_UNIQUE
            ("19", false),   // SQLITE_CONSTRAINT
            ("1", false),    // SQLITE_ERROR
            ("11", false),   // SQLITE_CORRUPT
        ] {
            assert_eq!(sqlite_unavailable(Some(code)), want, "{code}");
        }
    }

    #[test]
    fn postgres_codes() {
        for (code, want) in [
            ("08006", true),
            ("57P01", true),
            ("53100", true),
            ("25006", true),
            ("23505", false),
            ("42601", false),
            ("40001", false),
        ] {
            assert_eq!(postgres_unavailable(Some(code)), want, "{code}");
        }
    }
}
