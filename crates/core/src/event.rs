//! The kinds of audit event, one list for every aggregate: invitations,
//! tenants, roles, webhook endpoints and API keys. Their names are part of
//! the API (event log, filters, webhook payloads) and never change.

use serde::{Deserialize, Serialize};

/// What happened; each is one audit event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventType {
    #[serde(rename = "invitation.created")]
    InvitationCreated,
    #[serde(rename = "invitation.sent")]
    InvitationSent,
    #[serde(rename = "invitation.delivery_failed")]
    InvitationDeliveryFailed,
    #[serde(rename = "invitation.resent")]
    InvitationResent,
    #[serde(rename = "invitation.accepted")]
    InvitationAccepted,
    #[serde(rename = "invitation.declined")]
    InvitationDeclined,
    #[serde(rename = "invitation.revoked")]
    InvitationRevoked,
    #[serde(rename = "invitation.expired")]
    InvitationExpired,
    /// An answer by token refused because the host app's signed-in
    /// account is not the invited address; audit only, no webhook.
    #[serde(rename = "invitation.accept_refused")]
    InvitationAcceptRefused,
    #[serde(rename = "invitation.updated")]
    InvitationUpdated,
    #[serde(rename = "tenant.created")]
    TenantCreated,
    #[serde(rename = "tenant.updated")]
    TenantUpdated,
    #[serde(rename = "role.created")]
    RoleCreated,
    #[serde(rename = "webhook.created")]
    WebhookCreated,
    #[serde(rename = "webhook.updated")]
    WebhookUpdated,
    #[serde(rename = "webhook.secret_rotated")]
    WebhookSecretRotated,
    #[serde(rename = "webhook.deleted")]
    WebhookDeleted,
    #[serde(rename = "webhook.disabled")]
    WebhookDisabled,
    /// A test delivery asked for by an administrator; sent to that one
    /// endpoint only, whatever it subscribes to.
    #[serde(rename = "webhook.test")]
    WebhookTest,
    #[serde(rename = "api_key.created")]
    ApiKeyCreated,
    #[serde(rename = "api_key.revoked")]
    ApiKeyRevoked,
}

impl EventType {
    /// Every event type, invitation events first in their lifecycle order.
    pub const ALL: [EventType; 21] = [
        EventType::InvitationCreated,
        EventType::InvitationSent,
        EventType::InvitationDeliveryFailed,
        EventType::InvitationResent,
        EventType::InvitationAccepted,
        EventType::InvitationDeclined,
        EventType::InvitationRevoked,
        EventType::InvitationExpired,
        EventType::InvitationAcceptRefused,
        EventType::InvitationUpdated,
        EventType::TenantCreated,
        EventType::TenantUpdated,
        EventType::RoleCreated,
        EventType::WebhookCreated,
        EventType::WebhookUpdated,
        EventType::WebhookSecretRotated,
        EventType::WebhookDeleted,
        EventType::WebhookDisabled,
        EventType::WebhookTest,
        EventType::ApiKeyCreated,
        EventType::ApiKeyRevoked,
    ];

    /// Its name, as stored and as the API shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::InvitationCreated => "invitation.created",
            EventType::InvitationSent => "invitation.sent",
            EventType::InvitationDeliveryFailed => "invitation.delivery_failed",
            EventType::InvitationResent => "invitation.resent",
            EventType::InvitationAccepted => "invitation.accepted",
            EventType::InvitationDeclined => "invitation.declined",
            EventType::InvitationRevoked => "invitation.revoked",
            EventType::InvitationExpired => "invitation.expired",
            EventType::InvitationAcceptRefused => "invitation.accept_refused",
            EventType::InvitationUpdated => "invitation.updated",
            EventType::TenantCreated => "tenant.created",
            EventType::TenantUpdated => "tenant.updated",
            EventType::RoleCreated => "role.created",
            EventType::WebhookCreated => "webhook.created",
            EventType::WebhookUpdated => "webhook.updated",
            EventType::WebhookSecretRotated => "webhook.secret_rotated",
            EventType::WebhookDeleted => "webhook.deleted",
            EventType::WebhookDisabled => "webhook.disabled",
            EventType::WebhookTest => "webhook.test",
            EventType::ApiKeyCreated => "api_key.created",
            EventType::ApiKeyRevoked => "api_key.revoked",
        }
    }

    /// The event type of a name, if it is one.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// Whether it happens to an invitation: only these reach webhooks
    /// (a refused answer changes nothing and stays in the audit trail).
    pub fn is_invitation(self) -> bool {
        self.as_str().starts_with("invitation.") && self != EventType::InvitationAcceptRefused
    }

    /// The event types a webhook endpoint can subscribe to, in order.
    pub fn subscribable() -> impl Iterator<Item = EventType> {
        Self::ALL.into_iter().filter(|t| t.is_invitation())
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
            assert_eq!(serde_json::to_value(t).unwrap(), serde_json::json!(t.as_str()));
        }
        assert_eq!(EventType::parse("invitation.nope"), None);
        assert_eq!(EventType::parse("webhook.test"), Some(EventType::WebhookTest));
        assert!(!EventType::WebhookTest.is_invitation(), "a test event is never subscribed to");
        let names: Vec<&str> = EventType::subscribable().map(EventType::as_str).collect();
        assert_eq!(
            names,
            [
                "invitation.created",
                "invitation.sent",
                "invitation.delivery_failed",
                "invitation.resent",
                "invitation.accepted",
                "invitation.declined",
                "invitation.revoked",
                "invitation.expired",
                "invitation.updated",
            ]
        );
    }
}
