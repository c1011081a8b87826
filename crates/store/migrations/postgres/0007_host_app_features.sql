-- What host apps ask of an invitation system: a landing page per
-- invitation (only on origins the tenant allows), and the address of the
-- account that accepted, checked against the invited one when the tenant
-- asks for it.
ALTER TABLE tenants ADD COLUMN allowed_redirect_origins TEXT NOT NULL DEFAULT '[]';
ALTER TABLE tenants ADD COLUMN require_matching_email BIGINT NOT NULL DEFAULT 0;
ALTER TABLE invitations ADD COLUMN redirect_url TEXT;
ALTER TABLE invitations ADD COLUMN accepted_email TEXT;
