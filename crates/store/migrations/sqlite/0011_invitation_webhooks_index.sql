-- An invitation's webhook deliveries and each delivery's latest attempt,
-- for the console's page of one invitation.
CREATE INDEX webhook_deliveries_invitation ON webhook_deliveries (invitation_number, id);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);
