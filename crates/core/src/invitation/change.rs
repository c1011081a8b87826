//! Changing the terms of a pending invitation (roles, message, metadata,
//! expiry); its link and token stay.

use super::{Invitation, LifecycleError, Status, refuse_final};
use crate::ids::RoleId;
use time::OffsetDateTime;

/// What a change of a pending invitation sets; `None` leaves a field as
/// it is (checked by the caller: known roles, bounded text, an expiry
/// within the tenant's lifetime).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changes {
    pub roles: Option<Vec<RoleId>>,
    /// `Some(None)` clears the message.
    pub message: Option<Option<String>>,
    pub metadata: Option<serde_json::Value>,
    pub expires_at: Option<OffsetDateTime>,
}

impl Invitation {
    /// An admin changes the terms of a pending invitation; refused once it
    /// expired, was answered or revoked (its link and token stay).
    pub fn change(&self, now: OffsetDateTime, c: &Changes) -> Result<Invitation, LifecycleError> {
        match self.status_at(now) {
            Status::Pending => Ok(Invitation {
                // Roles are a set: the same ones in another order are no
                // change.
                roles: match &c.roles {
                    Some(r) if !same_set(r, &self.roles) => r.clone(),
                    _ => self.roles.clone(),
                },
                message: c.message.clone().unwrap_or_else(|| self.message.clone()),
                metadata: c.metadata.clone().unwrap_or_else(|| self.metadata.clone()),
                expires_at: c.expires_at.unwrap_or(self.expires_at),
                ..self.clone()
            }),
            other => Err(refuse_final(other)),
        }
    }
}

fn same_set(a: &[RoleId], b: &[RoleId]) -> bool {
    a.len() == b.len() && a.iter().all(|r| b.contains(r))
}
