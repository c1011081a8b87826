//! Tenants and their role catalogues.

use super::SqlStore;
use super::conn::{Arg, Cols, Exec, FromCols, Number};
use super::events::{NewEvent, Subject, insert_about, insert_event};
use super::rows::{self, ms};
use super::tx::write;
use crate::{Audit, Role, StoreError, Tenant, TenantStore};
use invitd_core::{EventType, TenantId};
use time::OffsetDateTime;

/// A tenant's events carry its settings.
impl Subject for Tenant {
    fn event_subject(&self) -> (&TenantId, serde_json::Value) {
        let settings = serde_json::json!({
            "name": self.name,
            "language": self.language.as_ref().map(|l| l.as_str()),
            "lifetime_days": self.lifetime_days,
            "resend_cooldown_secs": self.resend_cooldown_secs,
            "max_resends": self.max_resends,
            "resend_window_secs": self.resend_window_secs,
            "accept_redirect_url": self.accept_redirect_url,
            "allowed_redirect_origins": self.allowed_redirect_origins,
            "require_matching_email": self.require_matching_email,
            "invitations_per_day": self.invitations_per_day,
            "invitations_per_inviter_per_day": self.invitations_per_inviter_per_day,
        });
        (&self.id, settings)
    }
}

const TENANT_COLUMNS: &str = "id, name, language, lifetime_days, resend_cooldown_secs, max_resends, resend_window_secs, accept_redirect_url, logo_url, accent_color, ticket_secret, allowed_redirect_origins, require_matching_email, invitations_per_day, invitations_per_inviter_per_day, created_at, updated_at";

/// A tenant as [`TENANT_COLUMNS`] reads it.
fn tenant(row: &impl Cols) -> Result<Tenant, StoreError> {
    Ok(Tenant {
        id: rows::tenant_id(row, "id")?,
        name: row.col("name")?,
        language: rows::opt_parsed(row, "language", invitd_core::Language::parse)?,
        lifetime_days: row.col("lifetime_days")?,
        resend_cooldown_secs: row.col("resend_cooldown_secs")?,
        max_resends: rows::count(row, "max_resends")?,
        resend_window_secs: row.col("resend_window_secs")?,
        accept_redirect_url: row.col("accept_redirect_url")?,
        logo_url: row.col("logo_url")?,
        accent_color: row.col("accent_color")?,
        ticket_secret: row.col::<Option<String>>("ticket_secret")?.map(invitd_core::Secret::new),
        allowed_redirect_origins: serde_json::from_str(
            &row.col::<String>("allowed_redirect_origins")?,
        )
        .map_err(StoreError::corrupt)?,
        require_matching_email: row.col::<i64>("require_matching_email")? != 0,
        invitations_per_day: limit(row, "invitations_per_day")?,
        invitations_per_inviter_per_day: limit(row, "invitations_per_inviter_per_day")?,
        created_at: rows::time(row, "created_at")?,
        updated_at: rows::time(row, "updated_at")?,
    })
}

impl FromCols for Tenant {
    fn from_cols(row: &impl Cols) -> Result<Self, StoreError> {
        static COLUMNS: std::sync::LazyLock<Vec<&str>> =
            std::sync::LazyLock::new(|| rows::names(TENANT_COLUMNS));
        tenant(&rows::Listed { row, columns: &COLUMNS })
    }
}

impl FromCols for Role {
    fn from_cols(row: &impl Cols) -> Result<Self, StoreError> {
        Ok(Role {
            id: invitd_core::RoleId::parse(row.col::<String>("id")?)
                .map_err(StoreError::corrupt)?,
            name: row.col("name")?,
            rank: row.col::<i64>("rank")? as i32,
        })
    }
}

#[async_trait::async_trait]
impl TenantStore for SqlStore {
    async fn create_tenant(
        &self,
        t: &Tenant,
        roles: &[Role],
        audit: &Audit,
    ) -> Result<(), StoreError> {
        let (t, roles, audit) = (t.clone(), roles.to_vec(), audit.clone());
        write!(self, 1 + roles.len(), |conn| {
            let sql = "INSERT INTO tenants (name, language, lifetime_days, resend_cooldown_secs, max_resends, resend_window_secs, accept_redirect_url, updated_at, logo_url, accent_color, ticket_secret, allowed_redirect_origins, require_matching_email, invitations_per_day, invitations_per_inviter_per_day, id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)";
            let mut args = settings_args(&t);
            args.extend([Arg::text(t.id.as_str()), Arg::int(ms(t.created_at))]);
            conn.execute(sql, &args)
                .await
                .map_err(|e| e.conflict_as("a tenant with this id exists"))?;
            for role in &roles {
                insert_role(conn, &t.id, role).await?;
            }
            insert_about(conn, &t, EventType::TenantCreated, &audit, t.created_at).await
        })
    }

    async fn get_tenant(&self, id: &TenantId) -> Result<Tenant, StoreError> {
        let sql = format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE id = $1");
        self.read_opt(&sql, &[Arg::text(id.as_str())]).await?.ok_or(StoreError::NotFound)
    }

    async fn update_tenant(&self, t: &Tenant, audit: &Audit) -> Result<(), StoreError> {
        let (t, audit) = (t.clone(), audit.clone());
        write!(self, 1, |conn| {
            let sql = "UPDATE tenants SET name = $1, language = $2, lifetime_days = $3, resend_cooldown_secs = $4, max_resends = $5, resend_window_secs = $6, accept_redirect_url = $7, updated_at = $8, logo_url = $9, accent_color = $10, ticket_secret = $11, allowed_redirect_origins = $12, require_matching_email = $13, invitations_per_day = $14, invitations_per_inviter_per_day = $15 WHERE id = $16";
            let mut args = settings_args(&t);
            args.push(Arg::text(t.id.as_str()));
            if conn.execute(sql, &args).await? == 0 {
                return Err(StoreError::NotFound);
            }
            insert_about(conn, &t, EventType::TenantUpdated, &audit, t.updated_at).await
        })
    }

    async fn list_tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        let sql = format!("SELECT {} FROM tenants ORDER BY id", TENANT_COLUMNS);
        self.read_all(&sql, &[]).await
    }

    async fn list_roles(&self, tenant: &TenantId) -> Result<Vec<Role>, StoreError> {
        let sql = "SELECT id, name, rank FROM roles WHERE tenant_id = $1 ORDER BY rank, id";
        self.read_all(sql, &[Arg::text(tenant.as_str())]).await
    }

    async fn create_role(
        &self,
        tenant: &TenantId,
        role: &Role,
        at: OffsetDateTime,
        audit: &Audit,
    ) -> Result<(), StoreError> {
        let (tenant, role, audit) = (tenant.clone(), role.clone(), audit.clone());
        write!(self, 2, |conn| {
            let exists = "SELECT 1 FROM tenants WHERE id = $1";
            if conn.first::<Number>(exists, &[Arg::text(tenant.as_str())]).await?.is_none() {
                return Err(StoreError::NotFound);
            }
            insert_role(conn, &tenant, &role).await?;
            let data =
                serde_json::json!({"role": role.id.as_str(), "name": role.name, "rank": role.rank});
            let event = NewEvent::admin(Some(&tenant), EventType::RoleCreated, &audit, at, &data);
            insert_event(conn, event).await.map(drop)
        })
    }
}

async fn insert_role(
    conn: &mut impl Exec,
    tenant: &TenantId,
    role: &Role,
) -> Result<(), StoreError> {
    let args = [
        Arg::text(tenant.as_str()),
        Arg::text(role.id.as_str()),
        Arg::text(&role.name),
        Arg::int(i64::from(role.rank)),
    ];
    conn.execute("INSERT INTO roles (tenant_id, id, name, rank) VALUES ($1, $2, $3, $4)", &args)
        .await
        .map_err(|e| e.conflict_as("a role with this id exists"))?;
    Ok(())
}

/// A tenant's settings, in this order: name, language, lifetime_days,
/// resend_cooldown_secs, max_resends, resend_window_secs,
/// accept_redirect_url, updated_at, logo_url, accent_color, ticket_secret,
/// allowed_redirect_origins, require_matching_email, invitations_per_day,
/// invitations_per_inviter_per_day.
fn settings_args(t: &Tenant) -> Vec<Arg> {
    vec![
        Arg::text(&t.name),
        Arg::opt_text(t.language.as_ref().map(|l| l.as_str())),
        Arg::int(t.lifetime_days),
        Arg::int(t.resend_cooldown_secs),
        Arg::int(i64::from(t.max_resends)),
        Arg::int(t.resend_window_secs),
        Arg::opt_text(t.accept_redirect_url.as_deref()),
        Arg::int(ms(t.updated_at)),
        Arg::opt_text(t.logo_url.as_deref()),
        Arg::opt_text(t.accent_color.as_deref()),
        Arg::opt_text(t.ticket_secret.as_ref().map(|s| s.expose())),
        Arg::text(rows::to_json(&t.allowed_redirect_origins)),
        Arg::int(i64::from(t.require_matching_email)),
        Arg::int(t.invitations_per_day.map(i64::from)),
        Arg::int(t.invitations_per_inviter_per_day.map(i64::from)),
    ]
}

/// A nullable limit column.
fn limit(row: &impl Cols, col: &str) -> Result<Option<u32>, StoreError> {
    row.col::<Option<i64>>(col)?.map(|v| u32::try_from(v).map_err(StoreError::corrupt)).transpose()
}
