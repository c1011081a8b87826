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
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    pub fn corrupt(what: impl std::fmt::Display) -> Self {
        StoreError::Corrupt(what.to_string())
    }
}
