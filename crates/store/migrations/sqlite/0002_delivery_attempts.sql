-- Every attempt to deliver an email: when, how it went, what the server said.
CREATE TABLE delivery_attempts (
    id INTEGER PRIMARY KEY,
    outbox_id INTEGER NOT NULL REFERENCES outbox(id),
    invitation_number INTEGER NOT NULL REFERENCES invitations(number),
    attempted_at INTEGER NOT NULL,
    outcome TEXT NOT NULL,         -- sent | retry | failed
    detail TEXT NOT NULL           -- the server's reply or the error
);
CREATE INDEX delivery_attempts_invitation ON delivery_attempts (invitation_number, id);
