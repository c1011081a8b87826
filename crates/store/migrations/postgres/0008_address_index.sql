-- One address's invitations across tenants (`GET /v1/invitations?email=`,
-- accept-all), newest first, straight from an index.
CREATE INDEX invitations_email_number ON invitations (email_normalized, number);
