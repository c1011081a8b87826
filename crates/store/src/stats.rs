//! What the store reports for `/metrics` (the work waiting and this
//! process's connections) and the console (a tenant's invitations counted
//! by status).

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

/// How many of a tenant's invitations are in each effective status (a
/// pending invitation past its expiry counts as expired).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusCounts {
    pub pending: u64,
    pub accepted: u64,
    pub declined: u64,
    pub revoked: u64,
    pub expired: u64,
}

impl StatusCounts {
    /// Each status with its count, in the lifecycle's order.
    pub fn by_status(&self) -> [(invitd_core::Status, u64); 5] {
        use invitd_core::Status;
        [
            (Status::Pending, self.pending),
            (Status::Accepted, self.accepted),
            (Status::Declined, self.declined),
            (Status::Revoked, self.revoked),
            (Status::Expired, self.expired),
        ]
    }

    /// All of them.
    pub fn total(&self) -> u64 {
        self.by_status().iter().map(|(_, n)| n).sum()
    }
}
