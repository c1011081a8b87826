//! Wix Site Invites (`seeds/000_*`, `001_*`, `002_*`): bulk invite, resend,
//! revoke. The site is the tenant (`wix-site-id` header); the raw API key
//! comes in `Authorization` (a `Bearer` prefix is accepted too). Every
//! success is exactly `200` with a JSON body; errors have Wix's shape.

use super::{MaybeCaller, iso, parse_body};
use crate::auth::{Caller, Scope};
use crate::error::Error;
use crate::service::invitations::{CreateInvitations, Inviter, accept_url};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use invitd_core::{Invitation, Language, Secret, Status};
use serde::Deserialize;
use serde_json::{Value, json};

pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/invites/site-invite/bulk", post(bulk))
        .route("/invites/site-invite/{inviteId}/resend", post(resend))
        .route("/invites/site-invite/{inviteId}/revoke", post(revoke))
}

/// The capability keys in `callerCapabilities`.
pub const CAN_RESEND: &str = "RESEND_INVITE";
pub const CAN_REVOKE: &str = "REVOKE_INVITE";

/// A failure in Wix's shape.
pub enum WixError {
    /// `400 {message, details: {validationError: {fieldViolations}}}`.
    Validation(Vec<(String, String, &'static str)>),
    /// Any other: `{message, details: {applicationError: {code, description, data}}}`.
    Native(Error),
}

impl From<Error> for WixError {
    fn from(e: Error) -> Self {
        WixError::Native(e)
    }
}

fn violation(field: &str, description: impl Into<String>, rule: &'static str) -> WixError {
    WixError::Validation(vec![(field.to_string(), description.into(), rule)])
}

impl IntoResponse for WixError {
    fn into_response(self) -> Response {
        let (status, body, native) = match self {
            WixError::Validation(violations) => {
                let message = violations
                    .iter()
                    .map(|(f, d, _)| format!("{f}: {d}"))
                    .collect::<Vec<_>>()
                    .join("; ");
                let field_violations: Vec<Value> = violations
                    .into_iter()
                    .map(|(field, description, rule)| json!({"field": field, "description": description, "violatedRule": rule}))
                    .collect();
                (
                    StatusCode::BAD_REQUEST,
                    json!({"message": message, "details": {"validationError": {"fieldViolations": field_violations}}}),
                    None,
                )
            }
            WixError::Native(Error::Invalid(fields)) => {
                let violations = fields
                    .into_iter()
                    .map(|f| (wix_field(&f.field), f.message, "FORMAT"))
                    .collect();
                return WixError::Validation(violations).into_response();
            }
            WixError::Native(Error::MalformedJson(m)) => {
                return violation("body", m, "FORMAT").into_response();
            }
            WixError::Native(Error::UnknownRoles(ids)) => {
                return violation(
                    "policyIds",
                    format!("unknown policy ids: {}", ids.join(", ")),
                    "OTHER",
                )
                .into_response();
            }
            WixError::Native(e) => {
                let status = e.status();
                let code = e.code().to_ascii_uppercase();
                let data = match e.retry_after() {
                    Some(secs) => json!({"retryAfterSeconds": secs}),
                    None => json!({}),
                };
                (
                    status,
                    json!({"message": e.to_string(), "details": {"applicationError": {"code": code, "description": e.to_string(), "data": data}}}),
                    Some(e),
                )
            }
        };
        super::error_response(native.as_ref(), status, body)
    }
}

/// The native field name as the Wix request calls it.
fn wix_field(native: &str) -> String {
    match native {
        "emails" => "emails",
        "roles" => "policyIds",
        "purpose" => "invitePurpose",
        "language" => "defaultEmailLanguage",
        "location_ids" => "locationRestriction.locationIds",
        other => other,
    }
    .to_string()
}

/// The caller and the site (tenant) it addresses.
fn caller_and_site(caller: MaybeCaller, headers: &HeaderMap) -> Result<(Caller, String), WixError> {
    let caller = caller.0?;
    let site = headers
        .get("wix-site-id")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            violation("wix-site-id", "the wix-site-id header names the site", "REQUIRED_FIELD")
        })?;
    Ok((caller, site.to_string()))
}

/// Wix's invite status for ours.
pub fn status(s: Status) -> &'static str {
    match s {
        Status::Pending => "Pending",
        Status::Accepted => "Used",
        Status::Declined => "Declined",
        Status::Revoked => "Deleted",
        Status::Expired => "Expired",
    }
}

/// A `SiteInvite`: every field of the seed, absent values as `null`.
/// `acceptLink` is only known in the answer of the call that minted it.
pub fn site_invite(
    inv: &Invitation,
    caller: &Caller,
    now: time::OffsetDateTime,
    link: Option<String>,
) -> Value {
    let st = inv.status_at(now);
    let open = inv.is_open_at(now) && caller.has(Scope::InvitesWrite);
    let capabilities: Vec<&str> = if open { vec![CAN_RESEND, CAN_REVOKE] } else { vec![] };
    json!({
        "id": inv.id,
        "siteId": inv.tenant_id.as_str(),
        "email": inv.email,
        "policyIds": inv.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        "status": status(st),
        "acceptLink": link,
        "inviterAccountId": inv.inviter_account_id,
        "acceptedByAccountId": inv.accepted_by,
        "dateCreated": iso(inv.created_at),
        "staffId": inv.metadata.get("staffId").and_then(Value::as_str),
        "expirationDate": iso(inv.expires_at),
        "locationIds": inv.location_ids,
        "callerCapabilities": capabilities,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BulkRequest {
    policy_ids: Option<Vec<String>>,
    emails: Option<Vec<String>>,
    invite_purpose: Option<String>,
    default_email_language: Option<String>,
    location_restriction: Option<LocationRestriction>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LocationRestriction {
    #[serde(default)]
    location_ids: Vec<String>,
}

/// `POST /invites/site-invite/bulk` → `200 {invites, failedEmails}`.
async fn bulk(
    State(state): State<AppState>,
    caller: MaybeCaller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<axum::Json<Value>, WixError> {
    let (caller, site) = caller_and_site(caller, &headers)?;
    let req: BulkRequest = parse_body(&body).map_err(|m| violation("body", m, "FORMAT"))?;
    let mut violations = Vec::new();
    if req.policy_ids.as_ref().is_none_or(Vec::is_empty) {
        violations.push((
            "policyIds".to_string(),
            "at least one policy id is required".to_string(),
            "REQUIRED_FIELD",
        ));
    }
    if req.emails.as_ref().is_none_or(Vec::is_empty) {
        violations.push((
            "emails".to_string(),
            "at least one email is required".to_string(),
            "REQUIRED_FIELD",
        ));
    }
    if !violations.is_empty() {
        return Err(WixError::Validation(violations));
    }
    let create = CreateInvitations {
        emails: req.emails.unwrap_or_default(),
        roles: req.policy_ids.unwrap_or_default(),
        location_ids: req.location_restriction.map(|l| l.location_ids).unwrap_or_default(),
        purpose: req.invite_purpose,
        language: req.default_email_language,
        inviter: Some(Inviter { account_id: Some(caller.key.id.to_string()), email: None }),
        ..Default::default()
    };
    let out = state.service().create_invitations(&caller, &site, create).await?;
    let now = state.clock.now();
    let invites: Vec<Value> = out
        .with_links(&state.config.public_url)
        .map(|(inv, url)| site_invite(inv, &caller, now, Some(url)))
        .collect();
    let failed: Vec<&str> = out.failures.iter().map(|f| f.email.as_str()).collect();
    Ok(axum::Json(json!({"invites": invites, "failedEmails": failed})))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct InviteAction {
    invite_id: Option<String>,
    /// Resend only.
    default_email_language: Option<String>,
}

/// The caller, the site and the invite that a resend or revoke names,
/// with the rest of its body.
struct InviteCall {
    caller: Caller,
    site: String,
    id: uuid::Uuid,
    req: InviteAction,
}

impl axum::extract::FromRequest<AppState> for InviteCall {
    type Rejection = WixError;

    async fn from_request(
        request: axum::extract::Request,
        state: &AppState,
    ) -> Result<Self, WixError> {
        use axum::extract::FromRequestParts;
        let (mut parts, body) = request.into_parts();
        let Ok(MaybeCaller(caller)) = MaybeCaller::from_request_parts(&mut parts, state).await;
        let (caller, site) = caller_and_site(MaybeCaller(caller), &parts.headers)?;
        let Path(path_id) = Path::<String>::from_request_parts(&mut parts, state)
            .await
            .map_err(|_| violation("inviteId", "must be an invite GUID", "FORMAT"))?;
        let body = axum::body::to_bytes(body, state.config.max_body_bytes)
            .await
            .map_err(|_| WixError::from(Error::PayloadTooLarge))?;
        let req: InviteAction = parse_body(&body).map_err(|m| violation("body", m, "FORMAT"))?;
        let id = invite_id(&path_id, req.invite_id.as_deref())?;
        Ok(InviteCall { caller, site, id, req })
    }
}

/// The path's invite id, checked against the one the official client
/// repeats in the body.
fn invite_id(path: &str, body: Option<&str>) -> Result<uuid::Uuid, WixError> {
    let id = uuid::Uuid::parse_str(path)
        .map_err(|_| violation("inviteId", "must be an invite GUID", "FORMAT"))?;
    if let Some(repeated) = body
        && uuid::Uuid::parse_str(repeated).ok() != Some(id)
    {
        return Err(violation("inviteId", "differs from the invite id in the path", "OTHER"));
    }
    Ok(id)
}

/// `POST /invites/site-invite/{inviteId}/resend` → `200 {invite}`.
async fn resend(State(state): State<AppState>, call: InviteCall) -> Answer {
    let InviteCall { caller, site, id, req } = call;
    let language = req
        .default_email_language
        .map(|l| {
            Language::parse(l).map_err(|e| violation("defaultEmailLanguage", e.reason, "FORMAT"))
        })
        .transpose()?;
    let (inv, token): (Invitation, Secret) =
        state.service().resend_with_language(&caller, &site, id, language).await?;
    let link = accept_url(&state.config.public_url, &token);
    Ok(axum::Json(json!({"invite": site_invite(&inv, &caller, state.clock.now(), Some(link))})))
}

/// `POST /invites/site-invite/{inviteId}/revoke` → `200 {}`.
async fn revoke(State(state): State<AppState>, call: InviteCall) -> Answer {
    state.service().revoke(&call.caller, &call.site, call.id).await?;
    Ok(axum::Json(json!({})))
}

type Answer = Result<axum::Json<Value>, WixError>;
