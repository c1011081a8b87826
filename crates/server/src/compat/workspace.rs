//! Workspace invites (`seeds/003_*`): `POST /api/v1/invites/{invite_id}/resend/`
//! with the integer invitation number, answering `WorkspaceInviteDetail`,
//! plus the siblings a client needs to use this API alone: create, list,
//! get and cancel. A workspace is a tenant. Authentication: `Authorization:
//! Bearer <key>`; errors are `{"detail", "code"}` with the seed's statuses
//! (400, 403, 404), a missing or invalid key answering 403 as the seed
//! lists no 401.

use super::{MaybeCaller, iso, parse_body};
use crate::auth::{Caller, Scope};
use crate::error::Error;
use crate::service::invitations::{CreateInvitations, Inviter, ListQuery};
use crate::service::tenants::STARTING_ROLES;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use invitd_core::{Invitation, LifecycleError, Status};
use invitd_store::{Role, Tenant};
use serde::Deserialize;
use serde_json::{Value, json};

pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        // Resend: a new link, the expiry extended, a new email; 400 unless
        // pending or expired (or within the resend cooldown). Cancel: revoke.
        .route("/api/v1/invites/{invite_id}/resend/", post(resend))
        .route("/api/v1/invites/{invite_id}/resend", post(resend))
        .route("/api/v1/invites/{invite_id}/cancel/", post(cancel))
        .route("/api/v1/invites/{invite_id}/cancel", post(cancel))
        .route("/api/v1/invites/{invite_id}/", get(detail))
        .route("/api/v1/invites/{invite_id}", get(detail))
        .route("/api/v1/invites/", post(create).get(list))
        .route("/api/v1/invites", post(create).get(list))
}

face_error!(
    /// A failure: `{"detail": …, "code": …}`.
    WorkspaceError
);

impl IntoResponse for WorkspaceError {
    fn into_response(self) -> Response {
        let e = self.0;
        // The seed's statuses: refusals of the lifecycle and bad input are
        // 400, authentication and permission 403, missing 404.
        let status = match &e {
            Error::Unauthorized | Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Lifecycle(_)
            | Error::Invalid(_)
            | Error::MalformedJson(_)
            | Error::UnknownRoles(_)
            | Error::Conflict { .. } => StatusCode::BAD_REQUEST,
            other => other.status(),
        };
        let detail = match &e {
            Error::Unauthorized => {
                "Authentication credentials were not provided or are invalid.".to_string()
            }
            Error::Lifecycle(
                LifecycleError::ResendCooldown { retry_after_secs }
                | LifecycleError::ResendLimit { retry_after_secs },
            ) => {
                format!("This invite cannot be resent yet; retry in {retry_after_secs} seconds.")
            }
            Error::Lifecycle(l) => format!("Only pending or expired invites can be resent: {l}."),
            Error::Invalid(fields) => fields
                .iter()
                .map(|f| format!("{}: {}", f.field, f.message))
                .collect::<Vec<_>>()
                .join("; "),
            other => other.to_string(),
        };
        super::error_response(Some(&e), status, json!({"detail": detail, "code": e.code()}))
    }
}

/// The seed's four roles by rank, `"1"` to `"4"`: each stands for the
/// starting role of the same rank (viewer, editor, admin, owner).
const SEED_ROLES: [&str; 4] = ["1", "2", "3", "4"];

/// The seed role of an invitation: its highest-ranked role, by the
/// catalogue's rank clamped to 1–4 (the starting roles rank 1–4).
fn seed_role(inv: &Invitation, catalogue: &[Role]) -> (&'static str, &'static str) {
    let rank = inv
        .roles
        .iter()
        .map(|id| catalogue.iter().find(|r| &r.id == id).map_or(1, |r| r.rank))
        .max()
        .unwrap_or(1)
        .clamp(1, 4);
    let i = (rank - 1) as usize;
    (SEED_ROLES[i], STARTING_ROLES[i].1)
}

/// The seed's status for ours: declined and revoked both read `cancelled`
/// (the seed has no other word for an invite that can no longer be used).
fn seed_status(s: Status) -> &'static str {
    match s {
        Status::Pending => "pending",
        Status::Accepted => "accepted",
        Status::Declined | Status::Revoked => "cancelled",
        Status::Expired => "expired",
    }
}

/// The email part of a `Name <address>` sender.
fn sender_address(from: &str) -> String {
    match (from.find('<'), from.rfind('>')) {
        (Some(a), Some(b)) if a < b => from[a + 1..b].trim().to_string(),
        _ => from.trim().to_string(),
    }
}

/// A `WorkspaceInviteDetail` with its thirteen fields. `token` is the
/// invitation's UUID (its `/v1` id): an identifier, never the secret of an
/// accept link.
fn detail_of(inv: &Invitation, tenant: &Tenant, catalogue: &[Role], state: &AppState) -> Value {
    let now = state.clock.now();
    let (role, role_display) = seed_role(inv, catalogue);
    let status = inv.status_at(now);
    json!({
        "id": inv.number,
        "token": inv.id,
        "email": inv.email,
        "role": role,
        "role_display": role_display,
        "status": seed_status(status),
        "message": inv.message.clone().unwrap_or_default(),
        "created_at": iso(inv.created_at),
        "expires_at": iso(inv.expires_at),
        "accepted_at": inv.accepted_at.map(iso),
        "invited_by_email": inv.inviter_email.clone().unwrap_or_else(|| sender_address(&state.config.mail_from)),
        "workspace_name": tenant.name,
        "is_expired": status == Status::Expired,
    })
}

fn parse_number(raw: &str) -> Result<i64, WorkspaceError> {
    raw.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| WorkspaceError(Error::invalid("invite_id", "must be a positive integer")))
}

async fn respond(state: &AppState, caller: &Caller, number: i64) -> Result<Value, WorkspaceError> {
    let service = state.service();
    let (tenant, inv) = service.invitation_by_number(caller, Scope::InvitesRead, number).await?;
    Ok(detail_of(&inv, &tenant, &service.catalogue(&tenant).await?, state))
}

/// `POST /api/v1/invites/{invite_id}/resend/`.
async fn resend(s: State<AppState>, c: MaybeCaller, p: Path<String>) -> Answer {
    change(s, c, p, true).await
}

/// `POST /api/v1/invites/{invite_id}/cancel/`.
async fn cancel(s: State<AppState>, c: MaybeCaller, p: Path<String>) -> Answer {
    change(s, c, p, false).await
}

type Answer = Result<axum::Json<Value>, WorkspaceError>;

/// Resends (`resend`) or revokes the invitation numbered `raw`, then
/// answers its detail.
async fn change(
    State(state): State<AppState>,
    caller: MaybeCaller,
    Path(raw): Path<String>,
    resend: bool,
) -> Answer {
    let caller = caller.0?;
    let number = parse_number(&raw)?;
    let service = state.service();
    let (tenant, inv) = service.invitation_by_number(&caller, Scope::InvitesWrite, number).await?;
    let changed = if resend {
        service.resend(&caller, tenant.id.as_str(), inv.id).await?.0
    } else {
        service.revoke(&caller, tenant.id.as_str(), inv.id).await?
    };
    Ok(axum::Json(detail_of(&changed, &tenant, &service.catalogue(&tenant).await?, &state)))
}

/// `GET /api/v1/invites/{invite_id}/`.
async fn detail(
    State(state): State<AppState>,
    caller: MaybeCaller,
    Path(raw): Path<String>,
) -> Result<axum::Json<Value>, WorkspaceError> {
    let caller = caller.0?;
    let number = parse_number(&raw)?;
    Ok(axum::Json(respond(&state, &caller, number).await?))
}

/// The workspace a create or list addresses: the `X-Workspace-Id` header,
/// or the one tenant the key reaches.
fn workspace(caller: &Caller, headers: &HeaderMap) -> Result<String, WorkspaceError> {
    if let Some(id) = headers.get("x-workspace-id").and_then(|v| v.to_str().ok()) {
        return Ok(id.trim().to_string());
    }
    match &caller.key.tenants {
        Some(tenants) if tenants.len() == 1 => Ok(tenants[0].to_string()),
        _ => Err(WorkspaceError(Error::invalid(
            "X-Workspace-Id",
            "name the workspace (the key reaches several)",
        ))),
    }
}

#[derive(Deserialize)]
struct CreateRequest {
    email: String,
    /// `"1"`–`"4"`; default `"1"` (Viewer).
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// `POST /api/v1/invites/` `{email, role?, message?}` → `201 WorkspaceInviteDetail`.
async fn create(
    State(state): State<AppState>,
    caller: MaybeCaller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, axum::Json<Value>), WorkspaceError> {
    let caller = caller.0?;
    let tenant = workspace(&caller, &headers)?;
    let req: CreateRequest =
        parse_body(&body).map_err(|m| WorkspaceError(Error::MalformedJson(m)))?;
    let role = req.role.as_deref().unwrap_or("1");
    let index = SEED_ROLES.iter().position(|n| *n == role).ok_or_else(|| {
        WorkspaceError(Error::invalid("role", "must be \"1\", \"2\", \"3\" or \"4\""))
    })?;
    let create = CreateInvitations {
        emails: vec![req.email],
        roles: vec![STARTING_ROLES[index].0.to_string()],
        message: req.message,
        inviter: Some(Inviter { account_id: Some(caller.key.id.to_string()), email: None }),
        ..Default::default()
    };
    let out = state.service().create_invitations(&caller, &tenant, create).await?;
    let Some(created) = out.created.first() else {
        let reason = out.failures.first().map(|f| f.message.clone()).unwrap_or_default();
        return Err(WorkspaceError(Error::invalid("email", reason)));
    };
    // The roles of the tenant just authorized for the write; a key with
    // invites:write alone must get its answer too.
    let catalogue = state.service().catalogue(&out.tenant).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(detail_of(&created.invitation, &out.tenant, &catalogue, &state)),
    ))
}

/// `GET /api/v1/invites/`: the workspace's invites, newest first (the `/v1`
/// filters and cursor: `status`, `email`, `limit`, `cursor`) →
/// `{"results": [...], "next": cursor|null}`.
async fn list(
    State(state): State<AppState>,
    caller: MaybeCaller,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<axum::Json<Value>, WorkspaceError> {
    let caller = caller.0?;
    let tenant = workspace(&caller, &headers)?;
    let q: ListQuery = serde_urlencoded_query(query.as_deref().unwrap_or(""))?;
    let (page, next) = state.service().list_invitations(&caller, &tenant, q).await?;
    let t = state.service().tenant_for(&caller, &tenant).await?;
    let catalogue = state.service().catalogue(&t).await?;
    let results: Vec<Value> = page.iter().map(|i| detail_of(i, &t, &catalogue, &state)).collect();
    Ok(axum::Json(json!({"results": results, "next": next})))
}

fn serde_urlencoded_query(q: &str) -> Result<ListQuery, WorkspaceError> {
    let uri: axum::http::Uri = format!("/?{q}")
        .parse()
        .map_err(|_| WorkspaceError(Error::invalid("query", "unreadable query string")))?;
    axum::extract::Query::<ListQuery>::try_from_uri(&uri)
        .map(|axum::extract::Query(v)| v)
        .map_err(|e| WorkspaceError(Error::invalid("query", e.body_text())))
}
