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
    /// an I/O error. Clients should retry later.
    #[error("database unavailable: {0}")]
    Unavailable(sqlx::Error),
    /// The database failed.
    #[error("database: {0}")]
    Database(sqlx::Error),
    /// PostgreSQL: sqlx's migrator failed or refused the database.
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// SQLite: a migration failed, or the record of applied migrations
    /// does not match this build's files.
    #[error("migration: {0}")]
    MigrateSqlite(String),
}

impl StoreError {
    pub fn corrupt(what: impl std::fmt::Display) -> Self {
        StoreError::Corrupt(what.to_string())
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if unavailable(&e) { StoreError::Unavailable(e) } else { StoreError::Database(e) }
    }
}

/// Whether a database error is a fault outside invitd that clears by
/// itself, rather than a bug.
fn unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        // The writer connection was left inside a failed transaction; the
        // next write replaces it.
        | sqlx::Error::InvalidSavePointStatement
        | sqlx::Error::BeginFailed => true,
        sqlx::Error::Database(db) => {
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                sqlite_unavailable(db.code().as_deref())
            } else {
                postgres_unavailable(db.code().as_deref())
            }
        }
        _ => false,
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
