//! The words for where an invitation stands: its status, where its email
//! is, and what a delivery attempt came to.

use crate::event::EventType;
use serde::{Deserialize, Serialize};

/// The status of an invitation as callers see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pending,
    Accepted,
    Declined,
    Revoked,
    Expired,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Accepted => "accepted",
            Status::Declined => "declined",
            Status::Revoked => "revoked",
            Status::Expired => "expired",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Status::Pending,
            "accepted" => Status::Accepted,
            "declined" => Status::Declined,
            "revoked" => Status::Revoked,
            "expired" => Status::Expired,
            _ => return None,
        })
    }
}

/// Where the invitation email is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    Queued,
    Sent,
    Failed,
    /// No email is sent: the host app delivers the link itself.
    NotSent,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Queued => "queued",
            DeliveryState::Sent => "sent",
            DeliveryState::Failed => "failed",
            DeliveryState::NotSent => "not_sent",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "queued" => DeliveryState::Queued,
            "sent" => DeliveryState::Sent,
            "failed" => DeliveryState::Failed,
            "not_sent" => DeliveryState::NotSent,
            _ => return None,
        })
    }
}

/// How one attempt to deliver an invitation's email went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryResult<'a> {
    /// The mail server took it.
    Sent,
    /// It failed for now and will be tried again.
    WillRetry { error: &'a str },
    /// It failed for good.
    Failed { error: &'a str },
}

impl DeliveryResult<'_> {
    /// The event the attempt is recorded as, if any: a retry is not one.
    pub fn event(self) -> Option<EventType> {
        match self {
            DeliveryResult::Sent => Some(EventType::InvitationSent),
            DeliveryResult::WillRetry { .. } => None,
            DeliveryResult::Failed { .. } => Some(EventType::InvitationDeliveryFailed),
        }
    }
}
