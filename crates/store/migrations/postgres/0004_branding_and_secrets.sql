-- Tenant branding for the accept page, and the secret that signs the
-- tickets the accept page hands to the tenant's redirect URL.
ALTER TABLE tenants ADD COLUMN logo_url TEXT;
ALTER TABLE tenants ADD COLUMN accent_color TEXT;
ALTER TABLE tenants ADD COLUMN ticket_secret TEXT;

-- One row: the installation's own secret (signs accept-page form nonces),
-- shared by every process on the database.
CREATE TABLE installation (
    id BIGINT PRIMARY KEY,
    secret TEXT NOT NULL
);
