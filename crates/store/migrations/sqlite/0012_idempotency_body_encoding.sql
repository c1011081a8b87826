-- How a stored idempotent answer's body is kept: NULL as it was sent,
-- 'deflate' compressed (raw DEFLATE).
ALTER TABLE idempotency_keys ADD COLUMN body_encoding TEXT;
