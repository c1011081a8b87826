-- Lists filtered by status (the common "pending invitations" view), newest
-- first, straight from an index instead of sorting every match.
CREATE INDEX invitations_tenant_status_number ON invitations (tenant_id, status, number);
