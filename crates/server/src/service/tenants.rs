//! Tenants and their role catalogues.

use super::Service;
use super::quotas::check_quota;
use super::redirects::check_origins;
pub use super::tenant_input::{NewRole, NewTenant, TenantPatch, new_ticket_secret};
use super::tenant_input::{
    check_color, check_logo, check_name, check_settings, check_url, parse_language,
};
use crate::auth::{Caller, Scope};
use crate::error::Error;
use invitd_core::{RoleId, TenantId, limits};
use invitd_store::{Audit, Role, StatusCounts, StoreError, Tenant};

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

impl Service {
    /// Creates a tenant with the four starting roles. Needs `tenants:admin`
    /// on a key that reaches all tenants (a tenant-bound key could not see
    /// what it made).
    pub async fn create_tenant(&self, caller: &Caller, req: NewTenant) -> Result<Tenant, Error> {
        caller.require(Scope::TenantsAdmin)?;
        if caller.key.tenants.is_some() {
            return Err(Error::Forbidden("tenants:admin on a key for all tenants".into()));
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
            language: req.language.as_deref().map(|l| parse_language("language", l)).transpose()?,
            lifetime_days: req.invitation_lifetime_days.unwrap_or(limits::DEFAULT_LIFETIME_DAYS),
            resend_cooldown_secs: req
                .resend_cooldown_seconds
                .unwrap_or(DEFAULT_RESEND_COOLDOWN_SECS),
            max_resends: req.max_resends.unwrap_or(DEFAULT_MAX_RESENDS),
            resend_window_secs: req.resend_window_seconds.unwrap_or(DEFAULT_RESEND_WINDOW_SECS),
            accept_redirect_url: req.accept_redirect_url.as_deref().map(check_url).transpose()?,
            logo_url: req.logo_url.as_deref().map(check_logo).transpose()?,
            accent_color: req.accent_color.as_deref().map(check_color).transpose()?,
            ticket_secret: Some(new_ticket_secret()),
            allowed_redirect_origins: check_origins(
                req.allowed_redirect_origins.unwrap_or_default(),
            )?,
            require_matching_email: req.require_matching_email.unwrap_or(false),
            invitations_per_day: check_quota("invitations_per_day", req.invitations_per_day)?,
            invitations_per_inviter_per_day: check_quota(
                "invitations_per_inviter_per_day",
                req.invitations_per_inviter_per_day,
            )?,
            created_at: now,
            updated_at: now,
        };
        check_settings(&tenant)?;
        let roles: Vec<Role> = STARTING_ROLES
            .iter()
            .filter_map(|(id, name, rank)| {
                Some(Role { id: RoleId::parse(*id).ok()?, name: (*name).into(), rank: *rank })
            })
            .collect();
        self.state.store.create_tenant(&tenant, &roles, audit).await.map_err(|e| match e {
            StoreError::Conflict(_) => Error::Conflict {
                code: "tenant_exists",
                message: "a tenant with this id already exists".into(),
            },
            other => other.into(),
        })?;
        Ok(tenant)
    }

    /// The tenant, if the caller holds `scope` (403 otherwise) and reaches
    /// the tenant (404 otherwise): the check every tenant-scoped call opens
    /// with.
    pub async fn tenant_with(
        &self,
        caller: &Caller,
        scope: Scope,
        id: &str,
    ) -> Result<Tenant, Error> {
        caller.require(scope)?;
        self.tenant_for(caller, id).await
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

    /// The tenants the caller reaches (with `invites:read` or
    /// `tenants:admin`), by name.
    pub async fn list_tenants(&self, caller: &Caller) -> Result<Vec<Tenant>, Error> {
        if !caller.has(Scope::TenantsAdmin) {
            caller.require(Scope::InvitesRead)?;
        }
        let mut tenants = self.state.store.list_tenants().await?;
        tenants.retain(|t| caller.reaches(&t.id));
        tenants.sort_by_cached_key(|t| t.name.to_lowercase());
        Ok(tenants)
    }

    pub async fn get_tenant(&self, caller: &Caller, id: &str) -> Result<Tenant, Error> {
        if !caller.has(Scope::TenantsAdmin) {
            caller.require(Scope::InvitesRead)?;
        }
        self.tenant_for(caller, id).await
    }

    /// How many of the tenant's invitations are in each effective status
    /// now (a pending one past its expiry counts as expired); with
    /// `invites:read` or `tenants:admin`.
    pub async fn count_invitations(
        &self,
        caller: &Caller,
        tenant: &str,
    ) -> Result<StatusCounts, Error> {
        let t = self.get_tenant(caller, tenant).await?;
        Ok(self.state.store.count_by_status(&t.id, self.now()).await?)
    }

    pub async fn update_tenant(
        &self,
        caller: &Caller,
        id: &str,
        patch: TenantPatch,
    ) -> Result<Tenant, Error> {
        let mut t = self.tenant_with(caller, Scope::TenantsAdmin, id).await?;
        if let Some(name) = patch.name {
            t.name = check_name(&name)?;
        }
        if let Some(language) = patch.language {
            t.language = language.as_deref().map(|l| parse_language("language", l)).transpose()?;
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
        if let Some(origins) = patch.allowed_redirect_origins {
            t.allowed_redirect_origins = check_origins(origins)?;
        }
        if let Some(v) = patch.require_matching_email {
            t.require_matching_email = v;
        }
        if let Some(v) = patch.invitations_per_day {
            t.invitations_per_day = check_quota("invitations_per_day", v)?;
        }
        if let Some(v) = patch.invitations_per_inviter_per_day {
            t.invitations_per_inviter_per_day = check_quota("invitations_per_inviter_per_day", v)?;
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
        let mut t = self.tenant_with(caller, Scope::TenantsAdmin, id).await?;
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
        let t = self.tenant_with(caller, Scope::TenantsAdmin, tenant).await?;
        let role = Role {
            id: RoleId::parse(req.id).map_err(|e| Error::invalid("id", e.reason))?,
            name: check_name(&req.name)?,
            rank: req.rank,
        };
        self.state.store.create_role(&t.id, &role, self.now(), &caller.audit()).await.map_err(
            |e| match e {
                StoreError::Conflict(_) => Error::Conflict {
                    code: "role_exists",
                    message: "the tenant already has a role with this id".into(),
                },
                other => other.into(),
            },
        )?;
        Ok(role)
    }
}
