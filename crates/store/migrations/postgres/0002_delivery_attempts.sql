-- Every attempt to deliver an email: when, how it went, what the server said.
CREATE TABLE delivery_attempts (
    id BIGSERIAL PRIMARY KEY,
    outbox_id BIGINT NOT NULL REFERENCES outbox(id),
    invitation_number BIGINT NOT NULL REFERENCES invitations(number),
    attempted_at BIGINT NOT NULL,
    outcome TEXT NOT NULL,         -- sent | retry | failed
    detail TEXT NOT NULL           -- the server's reply or the error
);
CREATE INDEX delivery_attempts_invitation ON delivery_attempts (invitation_number, id);
