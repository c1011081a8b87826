-- invitd schema, PostgreSQL (the same tables as on SQLite). Times are integer milliseconds since the Unix epoch.
-- Invitations are keyed by an integer rowid (`number`, time-ordered) and
-- carry a UUID v7 (`id`, also time-ordered) so inserts append to every index.

CREATE TABLE tenants (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    language TEXT,
    lifetime_days BIGINT NOT NULL,
    resend_cooldown_secs BIGINT NOT NULL,
    max_resends BIGINT NOT NULL,
    resend_window_secs BIGINT NOT NULL,
    accept_redirect_url TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE roles (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    rank BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE api_keys (
    id BYTEA PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    secret_hash BYTEA NOT NULL UNIQUE,
    hint TEXT NOT NULL,
    scopes TEXT NOT NULL,          -- JSON array of strings
    tenants TEXT,                  -- JSON array of tenant ids; NULL = all
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE invitations (
    number BIGSERIAL PRIMARY KEY,
    id BYTEA NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    email TEXT NOT NULL,
    email_normalized TEXT NOT NULL,
    roles TEXT NOT NULL,           -- JSON array of role ids
    location_ids TEXT NOT NULL,    -- JSON array
    message TEXT,
    purpose TEXT,
    language TEXT,
    metadata TEXT NOT NULL,        -- JSON object
    inviter_account_id TEXT,
    inviter_email TEXT,
    status TEXT NOT NULL,
    token_hash BYTEA NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    last_sent_at BIGINT,
    accepted_at BIGINT,
    declined_at BIGINT,
    revoked_at BIGINT,
    accepted_by TEXT,
    resend_count BIGINT NOT NULL DEFAULT 0,
    resend_window_start BIGINT,
    resend_window_count BIGINT NOT NULL DEFAULT 0,
    delivery_state TEXT NOT NULL,
    delivery_attempts BIGINT NOT NULL DEFAULT 0,
    delivery_last_error TEXT,
    delivery_sent_at BIGINT
);

-- At most one pending invitation per (tenant, normalized email).
CREATE UNIQUE INDEX invitations_one_pending
    ON invitations (tenant_id, email_normalized) WHERE status = 'pending';
CREATE INDEX invitations_tenant_number ON invitations (tenant_id, number);
CREATE INDEX invitations_tenant_email ON invitations (tenant_id, email_normalized);

-- Tokens replaced by a resend, so their links can say "a newer invitation
-- was sent" instead of "unknown".
CREATE TABLE replaced_tokens (
    token_hash BYTEA PRIMARY KEY NOT NULL,
    invitation_number BIGINT NOT NULL REFERENCES invitations(number),
    replaced_at BIGINT NOT NULL
);

-- Append-only audit trail.
CREATE TABLE events (
    id BIGSERIAL PRIMARY KEY,
    tenant_id TEXT,
    invitation_number BIGINT,
    type TEXT NOT NULL,
    actor TEXT NOT NULL,           -- JSON
    ip TEXT,
    user_agent TEXT,
    at BIGINT NOT NULL,
    data TEXT NOT NULL             -- JSON
);
CREATE INDEX events_invitation ON events (invitation_number, id) WHERE invitation_number IS NOT NULL;

-- Emails to deliver. `payload` holds the accept link until the email is
-- sent or dropped, then it is cleared.
CREATE TABLE outbox (
    id BIGSERIAL PRIMARY KEY,
    invitation_number BIGINT NOT NULL REFERENCES invitations(number),
    tenant_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,           -- pending | sent | failed | superseded
    payload TEXT,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    claimed_until BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    sent_at BIGINT
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE state = 'pending';
CREATE INDEX outbox_invitation ON outbox (invitation_number) WHERE state = 'pending';

CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash BYTEA NOT NULL,
    status BIGINT,
    body BYTEA,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (scope, key)
);
