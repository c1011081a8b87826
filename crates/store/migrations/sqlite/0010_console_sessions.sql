-- Sessions of the admin console (/admin). A session stands for the API key
-- it was opened with: only the SHA-256 of the session id is kept, beside
-- the hash of that key (already stored in api_keys), so a revoked key ends
-- its sessions at once. A session idle past its limit is gone.
CREATE TABLE console_sessions (
    id_hash BLOB PRIMARY KEY NOT NULL,
    key_hash BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);
CREATE INDEX console_sessions_idle ON console_sessions (last_seen_at);
