//! Tenants and their role catalogues.

use super::Service;
use crate::auth::{Caller, Scope};
use crate::error::Error;
use invitd_core::{Language, RoleId, TenantId, limits};
use invitd_store::{Audit, Role, StoreError, Tenant};
use serde::Deserialize;

/// Default least time between two sends of one invitation.
pub const DEFAULT_RESEND_COOLDOWN_SECS: i64 = 60;
/// Default most resends per window.
pub const DEFAULT_MAX_RESENDS: u32 = 5;
/// Default resend window.
pub const DEFAULT_RESEND_WINDOW_SECS: i64 = 24 * 3600;

/// The roles every new tenant starts with: (id, name, rank).
pub const STARTING_ROLES: [(&str, &str, i32); 4] = [
    ("viewer", "Viewer", 1),
    ("editor", "Editor", 2),
    ("admin", "Admin", 3),
    ("owner", "Owner", 4),
];

/// Settings a tenant is created with; unset ones take the defaults.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    /// Chosen by the host app: 1–128 characters, no control characters,
    /// no `/`, no white space at either end.
    #[schema(
        min_length = 1,
        max_length = 128,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F/ \\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]([^\\u0000-\\u001F\\u007F-\\u009F/]*[^\\u0000-\\u001F\\u007F-\\u009F/ \\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000])?$"
    )]
    pub id: String,
    /// One line; 1–200 characters once trimmed.
    #[schema(
        min_length = 1,
        pattern = "^[\\t-\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]*[^\\u0000-\\u001F\\u007F-\\u009F \\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]([^\\u0000-\\u001F\\u007F-\\u009F]*[^\\u0000-\\u001F\\u007F-\\u009F \\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000])?[\\t-\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]*$"
    )]
    pub name: String,
    /// Default language of its emails (`en`, `de`, `es`, `fr`, `pt`, …).
    #[schema(max_length = 35, pattern = "^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*$")]
    pub language: Option<String>,
    /// Days an invitation stays valid (1–30; default 7).
    #[schema(minimum = 1, maximum = 30)]
    pub invitation_lifetime_days: Option<i64>,
    /// Least seconds between two sends of one invitation (0–604800;
    /// default 60).
    #[schema(minimum = 0, maximum = 604800)]
    pub resend_cooldown_seconds: Option<i64>,
    /// Most resends per window (0–1000; default 5).
    #[schema(minimum = 0, maximum = 1000)]
    pub max_resends: Option<u32>,
    /// The window `max_resends` counts in, in seconds (60–2592000; default
    /// 86400).
    #[schema(minimum = 60, maximum = 2592000)]
    pub resend_window_seconds: Option<i64>,
    /// Where the accept page sends the invitee after accepting, with a
    /// signed ticket: an http(s) URL of at most 2048 characters.
    #[schema(
        max_length = 2048,
        pattern = "^https?://[^\\u0000-\\u0020\\u007F-\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]*$"
    )]
    pub accept_redirect_url: Option<String>,
    /// An https URL of the tenant's logo, shown on the accept page (at
    /// most 2048 characters).
    #[schema(
        max_length = 2048,
        pattern = "^https://[^\\u0000-\\u0020\\u007F-\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000\"]*$"
    )]
    pub logo_url: Option<String>,
    /// The accept page's accent colour, `#rrggbb`.
    #[schema(pattern = "^#[0-9A-Fa-f]{6}$")]
    pub accent_color: Option<String>,
}

/// Changes to a tenant; absent fields stay, `null` clears the optional ones.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantPatch {
    /// One line; 1–200 characters once trimmed. Null: unchanged.
    #[schema(
        min_length = 1,
        pattern = "^[\\t-\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]*[^\\u0000-\\u001F\\u007F-\\u009F \\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]([^\\u0000-\\u001F\\u007F-\\u009F]*[^\\u0000-\\u001F\\u007F-\\u009F \\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000])?[\\t-\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]*$"
    )]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 35, pattern = "^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*$")]
    pub language: Option<Option<String>>,
    /// 1–30. Null: unchanged.
    #[schema(minimum = 1, maximum = 30)]
    pub invitation_lifetime_days: Option<i64>,
    /// 0–604800. Null: unchanged.
    #[schema(minimum = 0, maximum = 604800)]
    pub resend_cooldown_seconds: Option<i64>,
    /// 0–1000. Null: unchanged.
    #[schema(minimum = 0, maximum = 1000)]
    pub max_resends: Option<u32>,
    /// 60–2592000. Null: unchanged.
    #[schema(minimum = 60, maximum = 2592000)]
    pub resend_window_seconds: Option<i64>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 2048, pattern = "^https?://[^\\u0000-\\u0020\\u007F-\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]*$")]
    pub accept_redirect_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 2048, pattern = "^https://[^\\u0000-\\u0020\\u007F-\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000\"]*$")]
    pub logo_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, pattern = "^#[0-9A-Fa-f]{6}$")]
    pub accent_color: Option<Option<String>>,
}

/// Tells an explicit `null` (Some(None)) from an absent field (None).
fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A role to add to a tenant's catalogue.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRole {
    /// 1–64 characters, no control characters, no `/`, no white space at
    /// either end.
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F/ \\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]([^\\u0000-\\u001F\\u007F-\\u009F/]*[^\\u0000-\\u001F\\u007F-\\u009F/ \\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000])?$"
    )]
    pub id: String,
    /// One line; 1–200 characters once trimmed.
    #[schema(
        min_length = 1,
        pattern = "^[\\t-\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]*[^\\u0000-\\u001F\\u007F-\\u009F \\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]([^\\u0000-\\u001F\\u007F-\\u009F]*[^\\u0000-\\u001F\\u007F-\\u009F \\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000])?[\\t-\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]*$"
    )]
    pub name: String,
    /// Orders roles; higher grants more (default 0).
    #[serde(default)]
    pub rank: i32,
}

fn check_name(name: &str) -> Result<String, Error> {
    let trimmed = name.trim();
    if trimmed.is_empty() || trimmed.chars().count() > limits::MAX_NAME_CHARS {
        return Err(Error::invalid(
            "name",
            format!("must be 1 to {} characters", limits::MAX_NAME_CHARS),
        ));
    }
    // Names are one line: they go into email subjects.
    if trimmed.chars().any(char::is_control) {
        return Err(Error::invalid(
            "name",
            "must be one line without control characters",
        ));
    }
    Ok(trimmed.to_string())
}

fn check_url(url: &str) -> Result<String, Error> {
    let ok = (url.starts_with("https://") || url.starts_with("http://"))
        && url.chars().count() <= 2048
        && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(url.to_string())
    } else {
        Err(Error::invalid(
            "accept_redirect_url",
            "must be an http(s) URL",
        ))
    }
}

fn check_logo(url: &str) -> Result<String, Error> {
    let ok = url.starts_with("https://")
        && url.chars().count() <= 2048
        && !url
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '"');
    if ok {
        Ok(url.to_string())
    } else {
        Err(Error::invalid("logo_url", "must be an https URL"))
    }
}

fn check_color(color: &str) -> Result<String, Error> {
    let ok = color.len() == 7
        && color.starts_with('#')
        && color[1..].bytes().all(|b| b.is_ascii_hexdigit());
    if ok {
        Ok(color.to_ascii_lowercase())
    } else {
        Err(Error::invalid(
            "accent_color",
            "must be a colour like #1f6feb",
        ))
    }
}

/// A new secret for signing accept tickets.
pub fn new_ticket_secret() -> invitd_core::Secret {
    invitd_core::Secret::generate("ts_")
}

/// Checks the numeric settings of a tenant.
fn check_settings(t: &Tenant) -> Result<(), Error> {
    let mut errors = Vec::new();
    if !(1..=limits::MAX_LIFETIME_DAYS).contains(&t.lifetime_days) {
        errors.push((
            "invitation_lifetime_days",
            format!("must be 1 to {}", limits::MAX_LIFETIME_DAYS),
        ));
    }
    if !(0..=7 * 24 * 3600).contains(&t.resend_cooldown_secs) {
        errors.push(("resend_cooldown_seconds", "must be 0 to 604800".to_string()));
    }
    if t.max_resends > 1000 {
        errors.push(("max_resends", "must be 0 to 1000".to_string()));
    }
    if !(60..=30 * 24 * 3600).contains(&t.resend_window_secs) {
        errors.push(("resend_window_seconds", "must be 60 to 2592000".to_string()));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid(
            errors
                .into_iter()
                .map(|(f, m)| crate::error::FieldError {
                    field: f.into(),
                    message: m,
                })
                .collect(),
        ))
    }
}

fn parse_language(field: &str, s: &str) -> Result<Language, Error> {
    Language::parse(s).map_err(|e| Error::invalid(field, e.reason))
}

impl Service {
    /// Creates a tenant with the four starting roles. Needs `tenants:admin`
    /// on a key that reaches all tenants (a tenant-bound key could not see
    /// what it made).
    pub async fn create_tenant(&self, caller: &Caller, req: NewTenant) -> Result<Tenant, Error> {
        caller.require(Scope::TenantsAdmin)?;
        if caller.key.tenants.is_some() {
            return Err(Error::Forbidden(
                "tenants:admin on a key for all tenants".into(),
            ));
        }
        self.create_tenant_in(req, &caller.audit()).await
    }

    /// Creates a tenant on behalf of `audit`, for a caller already checked or
    /// the operator (the `_in` rule: no authorization here).
    pub async fn create_tenant_in(&self, req: NewTenant, audit: &Audit) -> Result<Tenant, Error> {
        let id = TenantId::parse(req.id).map_err(|e| Error::invalid("id", e.reason))?;
        let now = self.now();
        let tenant = Tenant {
            id,
            name: check_name(&req.name)?,
            language: req
                .language
                .as_deref()
                .map(|l| parse_language("language", l))
                .transpose()?,
            lifetime_days: req
                .invitation_lifetime_days
                .unwrap_or(limits::DEFAULT_LIFETIME_DAYS),
            resend_cooldown_secs: req
                .resend_cooldown_seconds
                .unwrap_or(DEFAULT_RESEND_COOLDOWN_SECS),
            max_resends: req.max_resends.unwrap_or(DEFAULT_MAX_RESENDS),
            resend_window_secs: req
                .resend_window_seconds
                .unwrap_or(DEFAULT_RESEND_WINDOW_SECS),
            accept_redirect_url: req
                .accept_redirect_url
                .as_deref()
                .map(check_url)
                .transpose()?,
            logo_url: req.logo_url.as_deref().map(check_logo).transpose()?,
            accent_color: req.accent_color.as_deref().map(check_color).transpose()?,
            ticket_secret: Some(new_ticket_secret()),
            created_at: now,
            updated_at: now,
        };
        check_settings(&tenant)?;
        let roles: Vec<Role> = STARTING_ROLES
            .iter()
            .filter_map(|(id, name, rank)| {
                Some(Role {
                    id: RoleId::parse(*id).ok()?,
                    name: (*name).into(),
                    rank: *rank,
                })
            })
            .collect();
        self.state
            .store
            .create_tenant(&tenant, &roles, audit)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => Error::Conflict {
                    code: "tenant_exists",
                    message: "a tenant with this id already exists".into(),
                },
                other => other.into(),
            })?;
        Ok(tenant)
    }

    /// The tenant, if the caller reaches it (404 otherwise).
    pub async fn tenant_for(&self, caller: &Caller, id: &str) -> Result<Tenant, Error> {
        let id = TenantId::parse(id).map_err(|_| Error::NotFound("tenant"))?;
        caller.require_tenant(&id)?;
        self.state.store.get_tenant(&id).await.map_err(|e| match e {
            StoreError::NotFound => Error::NotFound("tenant"),
            other => other.into(),
        })
    }

    /// The tenant an invitation belongs to, for those who hold its token
    /// (the accept page): no caller to authorize.
    pub async fn tenant_of(&self, inv: &invitd_core::Invitation) -> Result<Tenant, Error> {
        Ok(self.state.store.get_tenant(&inv.tenant_id).await?)
    }

    /// Every tenant, for the operator at the command line.
    pub async fn list_tenants_in(&self) -> Result<Vec<Tenant>, Error> {
        Ok(self.state.store.list_tenants().await?)
    }

    pub async fn get_tenant(&self, caller: &Caller, id: &str) -> Result<Tenant, Error> {
        if !caller.has(Scope::TenantsAdmin) {
            caller.require(Scope::InvitesRead)?;
        }
        self.tenant_for(caller, id).await
    }

    pub async fn update_tenant(
        &self,
        caller: &Caller,
        id: &str,
        patch: TenantPatch,
    ) -> Result<Tenant, Error> {
        caller.require(Scope::TenantsAdmin)?;
        let mut t = self.tenant_for(caller, id).await?;
        if let Some(name) = patch.name {
            t.name = check_name(&name)?;
        }
        if let Some(language) = patch.language {
            t.language = language
                .as_deref()
                .map(|l| parse_language("language", l))
                .transpose()?;
        }
        if let Some(v) = patch.invitation_lifetime_days {
            t.lifetime_days = v;
        }
        if let Some(v) = patch.resend_cooldown_seconds {
            t.resend_cooldown_secs = v;
        }
        if let Some(v) = patch.max_resends {
            t.max_resends = v;
        }
        if let Some(v) = patch.resend_window_seconds {
            t.resend_window_secs = v;
        }
        if let Some(url) = patch.accept_redirect_url {
            t.accept_redirect_url = url.as_deref().map(check_url).transpose()?;
        }
        if let Some(url) = patch.logo_url {
            t.logo_url = url.as_deref().map(check_logo).transpose()?;
        }
        if let Some(color) = patch.accent_color {
            t.accent_color = color.as_deref().map(check_color).transpose()?;
        }
        check_settings(&t)?;
        t.updated_at = self.now();
        self.state.store.update_tenant(&t, &caller.audit()).await?;
        Ok(t)
    }

    /// Replaces the tenant's ticket secret; the new one is shown this once.
    pub async fn rotate_ticket_secret(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<invitd_core::Secret, Error> {
        caller.require(Scope::TenantsAdmin)?;
        let mut t = self.tenant_for(caller, id).await?;
        let secret = new_ticket_secret();
        t.ticket_secret = Some(secret.clone());
        t.updated_at = self.now();
        self.state.store.update_tenant(&t, &caller.audit()).await?;
        Ok(secret)
    }

    /// The role catalogue of a tenant the caller was already authorized
    /// for (for answers that show role names).
    pub async fn catalogue(&self, tenant: &Tenant) -> Result<Vec<Role>, Error> {
        Ok(self.state.store.list_roles(&tenant.id).await?)
    }

    pub async fn list_roles(&self, caller: &Caller, tenant: &str) -> Result<Vec<Role>, Error> {
        let t = self.get_tenant(caller, tenant).await?;
        Ok(self.state.store.list_roles(&t.id).await?)
    }

    pub async fn create_role(
        &self,
        caller: &Caller,
        tenant: &str,
        req: NewRole,
    ) -> Result<Role, Error> {
        caller.require(Scope::TenantsAdmin)?;
        let t = self.tenant_for(caller, tenant).await?;
        let role = Role {
            id: RoleId::parse(req.id).map_err(|e| Error::invalid("id", e.reason))?,
            name: check_name(&req.name)?,
            rank: req.rank,
        };
        self.state
            .store
            .create_role(&t.id, &role, self.now(), &caller.audit())
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => Error::Conflict {
                    code: "role_exists",
                    message: "the tenant already has a role with this id".into(),
                },
                other => other.into(),
            })?;
        Ok(role)
    }
}
