//! API-key authentication and declarative scopes.

use crate::error::Error;
use crate::extract::ClientInfo;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use invitd_core::{Actor, Secret, TenantId};
use invitd_store::{ApiKey, Audit};

/// Prefix of every API key this service mints.
pub const KEY_PREFIX: &str = "ik_";

/// A permission an API key may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Read invitations, their events, the tenant and its roles.
    InvitesRead,
    /// Create, change, resend, revoke (one or in bulk); accept and decline
    /// by token; accept all of an address.
    InvitesWrite,
    /// Create and change tenants and roles.
    TenantsAdmin,
    /// Create, list and revoke API keys.
    KeysAdmin,
}

impl Scope {
    pub const ALL: [Scope; 4] =
        [Scope::InvitesRead, Scope::InvitesWrite, Scope::TenantsAdmin, Scope::KeysAdmin];
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::InvitesRead => "invites:read",
            Scope::InvitesWrite => "invites:write",
            Scope::TenantsAdmin => "tenants:admin",
            Scope::KeysAdmin => "keys:admin",
        }
    }
    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|scope| scope.as_str() == s)
    }
}

/// The authenticated caller: the key and where the request came from.
#[derive(Debug, Clone)]
pub struct Caller {
    pub key: ApiKey,
    pub client: ClientInfo,
}

impl Caller {
    /// Refuses with 403 unless the key has `scope`.
    pub fn require(&self, scope: Scope) -> Result<(), Error> {
        if self.key.scopes.iter().any(|s| s == scope.as_str()) {
            Ok(())
        } else {
            Err(Error::Forbidden(scope.as_str().into()))
        }
    }

    pub fn has(&self, scope: Scope) -> bool {
        self.require(scope).is_ok()
    }

    /// Whether the key reaches this tenant.
    pub fn reaches(&self, tenant: &TenantId) -> bool {
        match &self.key.tenants {
            None => true,
            Some(list) => list.contains(tenant),
        }
    }

    /// Refuses with 404, exactly like a missing tenant, unless the key
    /// reaches `tenant`.
    pub fn require_tenant(&self, tenant: &TenantId) -> Result<(), Error> {
        if self.reaches(tenant) { Ok(()) } else { Err(Error::NotFound("tenant")) }
    }

    pub fn audit(&self) -> Audit {
        Audit {
            actor: Actor::ApiKey { id: self.key.id, name: self.key.name.clone() },
            ip: self.client.ip.clone(),
            user_agent: self.client.user_agent.clone(),
        }
    }
}

/// The raw key from an `Authorization` header: `Bearer <key>` or, as the
/// Wix client sends it, the bare key.
pub fn presented_key(parts: &Parts) -> Option<Secret> {
    let value = parts.headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?.trim();
    let raw = match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        Some(_) => return None,
        None => value,
    };
    Some(Secret::new(raw))
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        // Already authenticated by a layer in front (idempotency).
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        let secret = presented_key(parts).ok_or(Error::Unauthorized)?;
        if !secret.looks_minted(KEY_PREFIX) {
            return Err(Error::Unauthorized);
        }
        let key =
            state.keys.find(&*state.store, &secret.hash()).await?.ok_or(Error::Unauthorized)?;
        let client = ClientInfo::from_request_parts(parts, state).await.unwrap_or_default();
        Ok(Caller { key, client })
    }
}
