//! Bounds on what callers may send, in one place so the API documentation,
//! the validation and the tests agree.

/// Most email addresses in one create call.
pub const MAX_EMAILS_PER_CALL: usize = 1_000;
/// Longest personal message, in characters.
pub const MAX_MESSAGE_CHARS: usize = 2_000;
/// Longest purpose text, in characters.
pub const MAX_PURPOSE_CHARS: usize = 500;
/// Largest metadata object, serialized, in bytes.
pub const MAX_METADATA_BYTES: usize = 8 * 1024;
/// Most roles on one invitation.
pub const MAX_ROLES_PER_INVITATION: usize = 32;
/// Most location ids on one invitation.
pub const MAX_LOCATIONS_PER_INVITATION: usize = 100;
/// Longest inviter account id or tenant name.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest invitation lifetime, in days.
pub const MAX_LIFETIME_DAYS: i64 = 30;
/// Default invitation lifetime, in days.
pub const DEFAULT_LIFETIME_DAYS: i64 = 7;
