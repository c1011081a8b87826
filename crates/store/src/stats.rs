//! What the store reports for `/metrics`: the work waiting and this
//! process's connections.

use time::OffsetDateTime;

/// Work waiting: emails and webhook deliveries due and not yet done, and
/// endpoints turned off.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Backlog {
    pub emails_due: u64,
    /// When the longest-waiting due email became due.
    pub oldest_email_due_at: Option<OffsetDateTime>,
    pub webhooks_due: u64,
    pub oldest_webhook_due_at: Option<OffsetDateTime>,
    pub disabled_endpoints: u64,
}

/// This process's database connections.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PoolStats {
    /// Open connections (readers and the writer).
    pub connections: u32,
    pub idle: u32,
    /// Writes waiting to begin (SQLite has one writer; PostgreSQL writes
    /// wait only for a free connection).
    pub writes_waiting: u64,
    /// Writes queued on the SQLite writer thread and not yet answered
    /// (always 0 on PostgreSQL).
    pub writer_queue: u64,
    /// Transactions the SQLite writer thread has committed or tried, and
    /// the writes they carried: their ratio is the mean group size.
    pub writer_batches: u64,
    pub writer_jobs: u64,
}
