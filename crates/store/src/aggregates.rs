//! One trait per aggregate of the store (tenants, keys, invitations, the
//! outbox, webhooks, events, console sessions, idempotency, the
//! installation), summed into [`crate::Store`] in the crate root.

use crate::*;
use async_trait::async_trait;
use invitd_core::{EventType, Invitation, SecretHash, TenantId};
use time::OffsetDateTime;
use uuid::Uuid;

/// The lifecycle decision a transition applies: given the current record,
/// the new record (or why not). Runs inside the store's transaction, so the
/// decision and the write are atomic.
pub type Decide =
    Box<dyn FnOnce(&Invitation) -> Result<Transition, invitd_core::LifecycleError> + Send>;

/// The installation as a whole: its schema, its health, its secret.
#[async_trait]
pub trait InstallationStore: Send + Sync {
    /// Runs the migrations.
    async fn migrate(&self) -> Result<(), StoreError>;
    /// Checks that the database answers.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Checks that a write can succeed now: one small write, committed.
    async fn probe_write(&self, now: OffsetDateTime) -> Result<(), StoreError>;
    /// The installation's secret: `candidate` if none was stored yet, else
    /// the one stored (so every process on the database agrees).
    async fn installation_secret(&self, candidate: &str) -> Result<String, StoreError>;
    /// The work waiting at `now` (for metrics).
    async fn backlog(&self, now: OffsetDateTime) -> Result<Backlog, StoreError>;
    /// This process's connections and the writes waiting for the writer.
    fn pool_stats(&self) -> PoolStats;
}

/// Tenants and their role catalogues.
#[async_trait]
pub trait TenantStore: Send + Sync {
    /// Creates a tenant with its starting roles; `Conflict` if the id exists.
    async fn create_tenant(
        &self,
        tenant: &Tenant,
        roles: &[Role],
        audit: &Audit,
    ) -> Result<(), StoreError>;
    async fn get_tenant(&self, id: &TenantId) -> Result<Tenant, StoreError>;
    /// Writes a tenant's settings back; `NotFound` if missing.
    async fn update_tenant(&self, tenant: &Tenant, audit: &Audit) -> Result<(), StoreError>;
    async fn list_tenants(&self) -> Result<Vec<Tenant>, StoreError>;
    async fn list_roles(&self, tenant: &TenantId) -> Result<Vec<Role>, StoreError>;
    /// Adds a role; `Conflict` if the tenant already has that id.
    async fn create_role(
        &self,
        tenant: &TenantId,
        role: &Role,
        at: OffsetDateTime,
        audit: &Audit,
    ) -> Result<(), StoreError>;
}

/// API keys (stored by the hash of their secret).
#[async_trait]
pub trait KeyStore: Send + Sync {
    async fn create_api_key(
        &self,
        key: &ApiKey,
        hash: &SecretHash,
        audit: &Audit,
    ) -> Result<(), StoreError>;
    /// The unrevoked key with this hash.
    async fn find_api_key(&self, hash: &SecretHash) -> Result<Option<ApiKey>, StoreError>;
    async fn list_api_keys(&self) -> Result<Vec<ApiKey>, StoreError>;
    async fn revoke_api_key(
        &self,
        id: Uuid,
        now: OffsetDateTime,
        audit: &Audit,
    ) -> Result<ApiKey, StoreError>;
}

/// Invitations and their lifecycle.
#[async_trait]
pub trait InvitationStore: Send + Sync {
    /// Inserts invitations, each with its `created` event and its email in
    /// the outbox, in one transaction. An address with a live pending
    /// invitation in the tenant comes back as `AlreadyPending`; a pending
    /// one past its expiry is first recorded as expired. Past a limit of
    /// `quota`, an invitation comes back as `QuotaExceeded` (checked before
    /// the insert, in the same transaction).
    async fn create_invitations(
        &self,
        items: Vec<NewInvitation>,
        quota: Quota,
        now: OffsetDateTime,
        audit: &Audit,
    ) -> Result<Vec<CreateOutcome>, StoreError>;
    /// Invitations created in the tenant (by `inviter`, when given) after
    /// `since`.
    async fn count_created(
        &self,
        tenant: &TenantId,
        inviter: Option<&str>,
        since: OffsetDateTime,
    ) -> Result<u64, StoreError>;
    /// How many of the tenant's invitations are in each effective status
    /// at `now` (one grouped query).
    async fn count_by_status(
        &self,
        tenant: &TenantId,
        now: OffsetDateTime,
    ) -> Result<StatusCounts, StoreError>;
    async fn get_invitation(&self, tenant: &TenantId, id: Uuid) -> Result<Invitation, StoreError>;
    /// By the per-installation number; `tenant: None` looks in every tenant
    /// (the number is unique across them).
    async fn get_invitation_by_number(
        &self,
        tenant: Option<&TenantId>,
        number: i64,
    ) -> Result<Invitation, StoreError>;
    /// Newest first.
    async fn list_invitations(
        &self,
        tenant: &TenantId,
        filter: &InvitationFilter,
        now: OffsetDateTime,
    ) -> Result<Vec<Invitation>, StoreError>;
    /// Finds an invitation by a token hash, current or replaced by a resend.
    async fn find_by_token(&self, hash: &SecretHash) -> Result<TokenMatch, StoreError>;
    /// Applies a lifecycle decision atomically: reads the target, runs
    /// `decide`, writes the new record, its event and its email. Errors:
    /// `NotFound`, `Lifecycle`.
    async fn transition(
        &self,
        target: Target,
        decide: Decide,
        audit: &Audit,
    ) -> Result<Invitation, StoreError>;
    /// Records due expiries; how many.
    async fn expire_due(&self, now: OffsetDateTime, limit: u32) -> Result<usize, StoreError>;
    /// One address's invitations in the tenants named (or all), newest
    /// first.
    async fn list_address_invitations(
        &self,
        filter: &AddressFilter,
        now: OffsetDateTime,
    ) -> Result<Vec<Invitation>, StoreError>;
    /// The newest invitation of each of these normalized addresses in the
    /// tenant (addresses without one are left out).
    async fn latest_by_addresses(
        &self,
        tenant: &TenantId,
        emails_normalized: &[String],
    ) -> Result<Vec<Invitation>, StoreError>;
    /// Changes the terms of an invitation (roles, message, metadata,
    /// expiry) atomically: reads the target, runs `decide`, writes the
    /// terms of its `updated` record and its event. Errors: `NotFound`,
    /// `Lifecycle`.
    async fn change_terms(
        &self,
        target: Target,
        decide: Decide,
        audit: &Audit,
    ) -> Result<Invitation, StoreError>;
}

/// The email outbox and its delivery attempts.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Leases up to `limit` due emails until `now + lease`.
    async fn claim_outbox(
        &self,
        now: OffsetDateTime,
        lease: time::Duration,
        limit: u32,
    ) -> Result<Vec<OutboxItem>, StoreError>;
    /// Records a delivery attempt's outcome.
    async fn finish_outbox(
        &self,
        item: &OutboxItem,
        outcome: &DeliveryOutcome,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// The delivery attempts of one invitation's emails, oldest first.
    async fn list_delivery_attempts(
        &self,
        tenant: &TenantId,
        id: Uuid,
    ) -> Result<Vec<DeliveryAttempt>, StoreError>;
}

/// Webhook endpoints, and the deliveries queued for them.
#[async_trait]
pub trait WebhookStore: Send + Sync {
    async fn create_webhook(
        &self,
        endpoint: &WebhookEndpoint,
        audit: &Audit,
    ) -> Result<(), StoreError>;
    async fn get_webhook(&self, tenant: &TenantId, id: Uuid)
    -> Result<WebhookEndpoint, StoreError>;
    async fn list_webhooks(&self, tenant: &TenantId) -> Result<Vec<WebhookEndpoint>, StoreError>;
    /// Writes an endpoint back; `change` names the audit event.
    async fn update_webhook(
        &self,
        endpoint: &WebhookEndpoint,
        change: EventType,
        audit: &Audit,
    ) -> Result<(), StoreError>;
    async fn delete_webhook(
        &self,
        tenant: &TenantId,
        id: Uuid,
        at: OffsetDateTime,
        audit: &Audit,
    ) -> Result<(), StoreError>;
    /// Leases due deliveries, at most `per_endpoint` per endpoint, one
    /// invitation's events in order.
    async fn claim_webhooks(
        &self,
        now: OffsetDateTime,
        lease: time::Duration,
        limit: u32,
        per_endpoint: usize,
    ) -> Result<Vec<WebhookJob>, StoreError>;
    async fn finish_webhook(
        &self,
        job: &WebhookJob,
        attempt: &WebhookAttempt,
        outcome: &WebhookOutcome,
        disable_after: time::Duration,
    ) -> Result<(), StoreError>;
    /// The deliveries of one invitation's events to every endpoint, oldest
    /// first, each with its latest attempt (none for an unknown
    /// invitation).
    async fn list_invitation_webhook_deliveries(
        &self,
        tenant: &TenantId,
        id: Uuid,
    ) -> Result<Vec<InvitationWebhookDelivery>, StoreError>;

    /// Records a `webhook.test` event about `endpoint` (its id, URL and
    /// tenant as data, `audit` as actor) and queues one delivery of it, due
    /// at `at`, to that endpoint alone (enabled or not, whatever it
    /// subscribes to), in one transaction; `NotFound` if the endpoint is
    /// gone from its tenant.
    async fn queue_webhook_test(
        &self,
        endpoint: &WebhookEndpoint,
        at: OffsetDateTime,
        audit: &Audit,
    ) -> Result<QueuedTest, StoreError>;
    /// An endpoint's attempts, newest first.
    async fn list_webhook_attempts(
        &self,
        tenant: &TenantId,
        id: Uuid,
        limit: u32,
    ) -> Result<Vec<WebhookAttempt>, StoreError>;
}

/// The audit trail.
#[async_trait]
pub trait EventStore: Send + Sync {
    async fn list_events(&self, filter: &EventFilter) -> Result<Vec<Event>, StoreError>;
    /// The audit events of one invitation, oldest first.
    async fn list_invitation_events(
        &self,
        tenant: &TenantId,
        id: Uuid,
    ) -> Result<Vec<Event>, StoreError>;
    /// Appends an event about an invitation that changed nothing (a refused
    /// answer), with its snapshot; no webhook is queued.
    async fn record_invitation_event(
        &self,
        inv: &Invitation,
        event: invitd_core::EventType,
        audit: &Audit,
        at: OffsetDateTime,
        data: &serde_json::Value,
    ) -> Result<(), StoreError>;
}

/// Sessions of the admin console, by the hash of their id.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a new session for the key with hash `key_hash`, and forgets
    /// every session not used since `idle_since`.
    async fn create_session(
        &self,
        id_hash: &SecretHash,
        key_hash: &SecretHash,
        now: OffsetDateTime,
        idle_since: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// The session with this id hash, idle or not.
    async fn find_session(
        &self,
        id_hash: &SecretHash,
    ) -> Result<Option<ConsoleSession>, StoreError>;
    /// Records a use of the session at `now`.
    async fn touch_session(
        &self,
        id_hash: &SecretHash,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Ends a session (signing out); ending an unknown one is not an error.
    async fn end_session(&self, id_hash: &SecretHash) -> Result<(), StoreError>;
}

/// Units of work and the idempotent answers they store.
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// The stored answer to a keyed request, if one is remembered.
    async fn idempotency_lookup(
        &self,
        scope: &str,
        key: &str,
        now: OffsetDateTime,
    ) -> Result<Option<StoredAnswer>, StoreError>;
    /// Ends a unit: stores `answer` (if any) and commits every write made in
    /// [`Unit::scope`] in one transaction. If another request already stored
    /// an answer to the same key, the unit's writes are rolled back and that
    /// answer is returned instead.
    async fn commit_unit(
        &self,
        unit: Unit,
        answer: Option<IdempotentAnswer<'_>>,
    ) -> Result<UnitOutcome, StoreError>;
}
