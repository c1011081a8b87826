//! The record of a signed-in console request, apart from how a session is
//! opened and checked (`session.rs`), so that pages can be rendered for it
//! (`render.rs`) without the two files needing each other.

use crate::auth::Caller;
use invitd_core::SecretHash;

/// A signed-in request: the key it acts as, and the token its forms carry.
pub struct Session {
    pub caller: Caller,
    pub csrf: String,
    pub(super) id_hash: SecretHash,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("key", &self.caller.key.id).finish_non_exhaustive()
    }
}
