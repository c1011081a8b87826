-- One row that the readiness check writes, so /readyz sees whether writes
-- can succeed (a full disk, a read-only file, a held lock), not only reads.
CREATE TABLE readiness (
    id INTEGER PRIMARY KEY,
    probed_at BIGINT NOT NULL
);
INSERT INTO readiness (id, probed_at) VALUES (1, 0);
