-- Quotas: new invitations per rolling 24 hours, per tenant and per inviter
-- (NULL: the operator's default, unlimited unless one is set). The create
-- counts the tenant's invitations since a moment, and the inviter's: each
-- count is a range of one index.
ALTER TABLE tenants ADD COLUMN invitations_per_day INTEGER;
ALTER TABLE tenants ADD COLUMN invitations_per_inviter_per_day INTEGER;
CREATE INDEX invitations_tenant_created ON invitations (tenant_id, created_at);
CREATE INDEX invitations_tenant_inviter_created
    ON invitations (tenant_id, inviter_account_id, created_at)
    WHERE inviter_account_id IS NOT NULL;
