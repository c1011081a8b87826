//! The pure domain of invitd: identifiers, secrets, the invitation lifecycle,
//! event types, webhook endpoint health and the clock. Nothing here touches
//! a database, the network or a runtime.

pub mod clock;
pub mod event;
pub mod ids;
pub mod invitation;
pub mod limits;
pub mod secret;
pub mod webhook;

pub use clock::{Clock, FixedClock, SystemClock};
pub use event::EventType;
pub use ids::{EmailAddress, IdError, Language, RoleId, TenantId};
pub use invitation::{
    Actor, Changes, DeliveryResult, DeliveryState, Draft, Invitation, LifecycleError, ResendPolicy,
    Status,
};
pub use secret::{Hidden, Secret, SecretHash};
