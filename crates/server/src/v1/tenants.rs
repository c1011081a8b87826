//! `/v1` tenant and role routes.

use super::dto::*;
use crate::auth::Caller;
use crate::error::{Error, Problem};
use crate::extract::{Json, Path, Query};
use crate::service::tenants::{NewRole, NewTenant, TenantPatch};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;

/// Create a tenant; it starts with the roles viewer, editor, admin, owner.
/// Needs `tenants:admin` on a key for all tenants.
#[utoipa::path(post, path = "/v1/tenants", operation_id = "create_tenant", tag = "tenants", request_body = NewTenant,
    security(("bearer" = ["tenants:admin"])),
    responses(
        (status = 201, body = CreatedTenant, description = "Created; `ticket_secret` is shown this once"),
        (status = 403, body = Problem, description = "`forbidden`: needs `tenants:admin` on a key for all tenants."),
        (status = 409, body = Problem, description = "`tenant_exists`: a tenant with this id exists.")))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<NewTenant>,
) -> Result<(StatusCode, crate::extract::Json<CreatedTenant>), Error> {
    let t = state.service().create_tenant(&caller, req).await?;
    let ticket_secret =
        t.ticket_secret.as_ref().map(|s| s.expose().to_string()).unwrap_or_default();
    Ok((
        StatusCode::CREATED,
        crate::extract::Json(CreatedTenant { tenant: TenantView::from(&t), ticket_secret }),
    ))
}

/// Replace the secret that signs the tenant's accept tickets; the new one is
/// shown this once and the old one stops working at once.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/ticket-secret", operation_id = "rotate_ticket_secret", tag = "tenants", params(("tenant" = String, Path)),
    security(("bearer" = ["tenants:admin"])),
    responses(
        (status = 200, body = TicketSecret, description = "The new secret, shown this once")))]
pub async fn rotate_ticket_secret(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> Result<crate::extract::Json<TicketSecret>, Error> {
    let secret = state.service().rotate_ticket_secret(&caller, &tenant).await?;
    Ok(crate::extract::Json(TicketSecret { ticket_secret: secret.expose().to_string() }))
}

/// A tenant, its settings, and `usage`: the quotas in force and what is
/// left of them (with `inviter_account_id`, that inviter's too).
#[utoipa::path(get, path = "/v1/tenants/{tenant}", operation_id = "get_tenant", tag = "tenants", params(("tenant" = String, Path), TenantQuery),
    security(("bearer" = ["invites:read"]), ("bearer" = ["tenants:admin"])),
    responses(
        (status = 200, body = TenantWithUsage, description = "The tenant")))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
    Query(q): Query<TenantQuery>,
) -> Result<crate::extract::Json<TenantWithUsage>, Error> {
    let (t, usage) = state.service().tenant_usage(&caller, &tenant, q.inviter_account_id).await?;
    Ok(crate::extract::Json(TenantWithUsage {
        tenant: TenantView::from(&t),
        usage: UsageView::from(&usage),
    }))
}

/// Change a tenant's settings; absent fields stay, `null` clears.
#[utoipa::path(patch, path = "/v1/tenants/{tenant}", operation_id = "update_tenant", tag = "tenants", params(("tenant" = String, Path)), request_body = TenantPatch,
    security(("bearer" = ["tenants:admin"])),
    responses(
        (status = 200, body = TenantView, description = "The tenant as changed")))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
    Json(patch): Json<TenantPatch>,
) -> Result<crate::extract::Json<TenantView>, Error> {
    let t = state.service().update_tenant(&caller, &tenant, patch).await?;
    Ok(crate::extract::Json(TenantView::from(&t)))
}

/// The tenant's role catalogue, by rank.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/roles", operation_id = "list_roles", tag = "tenants", params(("tenant" = String, Path)),
    security(("bearer" = ["invites:read"]), ("bearer" = ["tenants:admin"])),
    responses(
        (status = 200, body = RoleList, description = "The roles, by rank")))]
pub async fn list_roles(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> Result<crate::extract::Json<RoleList>, Error> {
    let roles = state.service().list_roles(&caller, &tenant).await?;
    Ok(crate::extract::Json(RoleList { roles: roles.iter().map(RoleView::from).collect() }))
}

/// Add a role to the catalogue.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/roles", operation_id = "create_role", tag = "tenants", params(("tenant" = String, Path)), request_body = NewRole,
    security(("bearer" = ["tenants:admin"])),
    responses(
        (status = 201, body = RoleView, description = "Added"),
        (status = 409, body = Problem, description = "`role_exists`: the tenant has a role with this id.")))]
pub async fn create_role(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
    Json(req): Json<NewRole>,
) -> Result<(StatusCode, crate::extract::Json<RoleView>), Error> {
    let role = state.service().create_role(&caller, &tenant, req).await?;
    Ok((StatusCode::CREATED, crate::extract::Json(RoleView::from(&role))))
}
