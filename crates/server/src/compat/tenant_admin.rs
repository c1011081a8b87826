//! Tenant admin invitations (`seeds/004_*`):
//! `PUT /tenant/{tenantId}/admin/user/invitation/resend?id=<int64>` (and the
//! example's `/api/tenant/{tenantId}/invitations/resend?id=`), answering the
//! `Result` envelope `{isSuccess, isFailure, error, value}`. `value` is
//! "the updated invitation set": the invitations the call changed, which is
//! the one resent. Statuses as the seed lists them: 400, 401, 403, 404.

use super::{MaybeCaller, iso};
use crate::auth::Scope;
use crate::error::Error;
use crate::state::AppState;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::put;
use invitd_core::{Invitation, LifecycleError, Status};
use serde_json::{Value, json};

pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/tenant/{tenantId}/admin/user/invitation/resend", put(resend))
        .route("/api/tenant/{tenantId}/invitations/resend", put(resend))
}

face_error!(
    /// A failure in the envelope: `{isSuccess: false, isFailure: true, error:
    /// {code, message, info[]}, value: null}`.
    EnvelopeError
);

impl IntoResponse for EnvelopeError {
    fn into_response(self) -> Response {
        let e = self.0;
        let (status, code, message, info): (StatusCode, &str, String, Vec<String>) = match &e {
            Error::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "Authentication credentials are missing or invalid.".into(),
                vec![],
            ),
            Error::Forbidden(scope) => (
                StatusCode::FORBIDDEN,
                "Forbidden",
                "You lack permission to manage invitations of this tenant.".into(),
                vec![format!("missing: {scope}")],
            ),
            Error::NotFound(_) => {
                (StatusCode::NOT_FOUND, "NotFound", "The invitation does not exist.".into(), vec![])
            }
            Error::Invalid(fields) => (
                StatusCode::BAD_REQUEST,
                "ValidationError",
                "The request parameters failed validation.".into(),
                fields.iter().map(|f| format!("{}: {}", f.field, f.message)).collect(),
            ),
            Error::Lifecycle(
                LifecycleError::ResendCooldown { retry_after_secs }
                | LifecycleError::ResendLimit { retry_after_secs },
            ) => (
                StatusCode::BAD_REQUEST,
                "ResendTooSoon",
                "The invitation cannot be resent yet.".into(),
                vec![format!("Retry in {retry_after_secs} seconds.")],
            ),
            Error::Lifecycle(l) => (
                StatusCode::BAD_REQUEST,
                "InvalidState",
                "Only pending invitations can be resent.".into(),
                vec![l.to_string()],
            ),
            Error::Unavailable => {
                (StatusCode::SERVICE_UNAVAILABLE, "Unavailable", e.to_string(), vec![])
            }
            _ => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "An unexpected error occurred.".into(),
                vec![],
            ),
        };
        let body = json!({"isSuccess": false, "isFailure": true, "error": {"code": code, "message": message, "info": info}, "value": null});
        super::error_response(Some(&e), status, body)
    }
}

/// Our status as the seed's example writes it.
fn status(s: Status) -> &'static str {
    match s {
        Status::Pending => "Pending",
        Status::Accepted => "Accepted",
        Status::Declined => "Declined",
        Status::Revoked => "Revoked",
        Status::Expired => "Expired",
    }
}

/// A `UserInvitationModel`.
fn model(inv: &Invitation, now: time::OffsetDateTime) -> Value {
    json!({
        "id": inv.number,
        "email": inv.email,
        "status": status(inv.status_at(now)),
        "createdAt": iso(inv.created_at),
        "expiresAt": iso(inv.expires_at),
        "tenantId": inv.tenant_id.as_str(),
        "roles": inv.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        "resendCount": inv.resend_count,
    })
}

/// The `id` query parameter: a positive int64.
fn id_param(query: Option<&str>) -> Result<i64, EnvelopeError> {
    let raw = query
        .unwrap_or("")
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == "id")
        .map(|(_, v)| v);
    raw.and_then(|v| v.parse::<i64>().ok()).filter(|n| *n > 0).ok_or_else(|| {
        EnvelopeError(Error::invalid("id", "The Id field must be a positive integer."))
    })
}

async fn resend(
    State(state): State<AppState>,
    caller: MaybeCaller,
    Path(tenant): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<axum::Json<Value>, EnvelopeError> {
    let caller = caller.0?;
    let number = id_param(query.as_deref())?;
    // A key for other tenants lacks permission here (403), as the seed says.
    let tenant_id = invitd_core::TenantId::parse(tenant.clone())
        .map_err(|_| EnvelopeError(Error::NotFound("tenant")))?;
    if !caller.reaches(&tenant_id) {
        return Err(EnvelopeError(Error::Forbidden("access to this tenant".into())));
    }
    let service = state.service();
    let (_, inv) = service.invitation_by_number(&caller, Scope::InvitesWrite, number).await?;
    if inv.tenant_id != tenant_id {
        return Err(EnvelopeError(Error::NotFound("invitation")));
    }
    let (updated, _) = service.resend(&caller, &tenant, inv.id).await?;
    let now = state.clock.now();
    Ok(axum::Json(
        json!({"isSuccess": true, "isFailure": false, "error": null, "value": [model(&updated, now)]}),
    ))
}
