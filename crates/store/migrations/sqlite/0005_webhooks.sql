-- Webhooks: endpoints per tenant, one delivery per (event, endpoint)
-- written in the same transaction as the event, and every attempt.

-- The invitation as it was when the event happened (JSON), for payloads.
ALTER TABLE events ADD COLUMN snapshot TEXT;
CREATE INDEX events_tenant ON events (tenant_id, id);

CREATE TABLE webhook_endpoints (
    id BLOB PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    -- ",invitation.created,invitation.sent," (empty list: ",*,", every type)
    event_types TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    disabled_reason TEXT,
    failing_since INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id);

CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY,
    endpoint_id BLOB NOT NULL REFERENCES webhook_endpoints(id),
    event_id INTEGER NOT NULL REFERENCES events(id),
    invitation_number INTEGER,
    state TEXT NOT NULL,           -- pending | delivered | failed | abandoned
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    claimed_until INTEGER,
    created_at INTEGER NOT NULL,
    delivered_at INTEGER
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (endpoint_id, invitation_number, id) WHERE state = 'pending';

CREATE TABLE webhook_attempts (
    id INTEGER PRIMARY KEY,
    delivery_id INTEGER NOT NULL REFERENCES webhook_deliveries(id),
    endpoint_id BLOB NOT NULL,
    attempted_at INTEGER NOT NULL,
    status_code INTEGER,
    duration_ms INTEGER NOT NULL,
    error TEXT
);
CREATE INDEX webhook_attempts_endpoint ON webhook_attempts (endpoint_id, id);
