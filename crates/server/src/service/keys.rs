//! API keys: minted once, stored hashed, scoped to tenants.

use super::{Service, check_text};
use crate::auth::{Caller, KEY_PREFIX, Scope};
use crate::error::Error;
use invitd_core::{Secret, TenantId};
use invitd_store::{ApiKey, Audit, StoreError};
use serde::Deserialize;
use uuid::Uuid;

/// A key to create.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    /// At most 200 characters, not blank.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F\\t\\n\\r \\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000][^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
    )]
    pub name: String,
    /// Any of `invites:read`, `invites:write`, `tenants:admin`, `keys:admin`.
    #[schema(schema_with = crate::openapi::fields::scopes)]
    pub scopes: Vec<String>,
    /// The tenants the key reaches; absent or null: all tenants.
    #[serde(default)]
    #[schema(schema_with = crate::openapi::fields::key_tenants)]
    pub tenants: Option<Vec<String>>,
}

impl Service {
    /// Creates a key for an API caller with `keys:admin`. A caller cannot
    /// give more than it has: the new key's scopes and tenants must be
    /// within the caller's own.
    pub async fn create_key(
        &self,
        caller: &Caller,
        req: NewKey,
    ) -> Result<(ApiKey, Secret), Error> {
        caller.require(Scope::KeysAdmin)?;
        for scope in &req.scopes {
            if !caller.key.scopes.contains(scope) && Scope::parse(scope).is_some() {
                return Err(Error::Forbidden(format!(
                    "{scope} (a key cannot grant a scope it lacks)"
                )));
            }
        }
        match (&caller.key.tenants, &req.tenants) {
            (None, _) => {}
            (Some(_), None) => {
                return Err(Error::Forbidden(
                    "all tenants (a tenant-bound key cannot grant all tenants)".into(),
                ));
            }
            (Some(own), Some(wanted)) => {
                if let Some(foreign) =
                    wanted.iter().find(|t| !own.iter().any(|o| o.as_str() == t.as_str()))
                {
                    return Err(Error::invalid("tenants", format!("unknown tenant {foreign:?}")));
                }
            }
        }
        self.create_key_in(req, &caller.audit()).await
    }

    /// Creates a key on behalf of `audit`, for a caller already checked or
    /// the operator (the `_in` rule: no authorization here).
    pub async fn create_key_in(
        &self,
        req: NewKey,
        audit: &Audit,
    ) -> Result<(ApiKey, Secret), Error> {
        let name = check_text("name", Some(req.name), 200)?
            .ok_or_else(|| Error::invalid("name", "must not be empty"))?;
        if req.scopes.is_empty() {
            return Err(Error::invalid("scopes", "must name at least one scope"));
        }
        let mut scopes = Vec::new();
        for s in &req.scopes {
            let scope = Scope::parse(s.trim()).ok_or_else(|| {
                Error::invalid("scopes", format!("unknown scope {s:?}; known: invites:read, invites:write, tenants:admin, keys:admin"))
            })?;
            if !scopes.contains(&scope.as_str().to_string()) {
                scopes.push(scope.as_str().to_string());
            }
        }
        let tenants = match req.tenants {
            None => None,
            Some(list) => {
                let mut ids = Vec::new();
                for t in list {
                    let id = TenantId::parse(t.clone())
                        .map_err(|e| Error::invalid("tenants", e.reason))?;
                    match self.state.store.get_tenant(&id).await {
                        Ok(_) => {}
                        Err(StoreError::NotFound) => {
                            return Err(Error::invalid("tenants", format!("unknown tenant {t:?}")));
                        }
                        Err(e) => return Err(e.into()),
                    }
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
                if ids.is_empty() {
                    return Err(Error::invalid(
                        "tenants",
                        "must name at least one tenant, or be omitted for all",
                    ));
                }
                Some(ids)
            }
        };
        let secret = Secret::generate(KEY_PREFIX);
        let key = ApiKey {
            id: Uuid::now_v7(),
            name,
            scopes,
            tenants,
            hint: secret.expose().chars().take(KEY_PREFIX.len() + 4).collect(),
            created_at: self.now(),
            revoked_at: None,
        };
        self.state.store.create_api_key(&key, &secret.hash(), audit).await?;
        Ok((key, secret))
    }

    /// The keys the caller may see: all of them for an all-tenant key, else
    /// those whose tenants are all within the caller's.
    pub async fn list_keys(&self, caller: &Caller) -> Result<Vec<ApiKey>, Error> {
        caller.require(Scope::KeysAdmin)?;
        let keys = self.state.store.list_api_keys().await?;
        Ok(keys.into_iter().filter(|k| visible_to(caller, k)).collect())
    }

    /// Every key, revoked ones included, for the operator at the command
    /// line.
    pub async fn list_keys_in(&self) -> Result<Vec<ApiKey>, Error> {
        Ok(self.state.store.list_api_keys().await?)
    }

    pub async fn revoke_key(&self, caller: &Caller, id: Uuid) -> Result<ApiKey, Error> {
        caller.require(Scope::KeysAdmin)?;
        let keys = self.state.store.list_api_keys().await?;
        let target = keys.into_iter().find(|k| k.id == id).ok_or(Error::NotFound("key"))?;
        if !visible_to(caller, &target) {
            return Err(Error::NotFound("key"));
        }
        let key = self.state.store.revoke_api_key(id, self.now(), &caller.audit()).await?;
        self.state.keys.forget_all();
        Ok(key)
    }
}

fn visible_to(caller: &Caller, key: &ApiKey) -> bool {
    match (&caller.key.tenants, &key.tenants) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(own), Some(theirs)) => theirs.iter().all(|t| own.contains(t)),
    }
}
