//! `/v1/keys` routes.

use super::dto::*;
use crate::auth::Caller;
use crate::error::{Error, Problem};
use crate::extract::{Json, Path};
use crate::service::keys::NewKey;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use invitd_core::Secret;
use uuid::Uuid;

/// Create an API key. The answer's `secret` is shown this once. A key
/// cannot grant scopes or tenants it does not have itself.
#[utoipa::path(post, path = "/v1/keys", operation_id = "create_key", tag = "keys", request_body = NewKey,
    security(("bearer" = ["keys:admin"])),
    responses(
        (status = 201, body = CreatedKey, description = "Created; `secret` is shown this once"),
        (status = 403, body = Problem, description = "`forbidden`: the key lacks `keys:admin`, or asked for a scope or for all tenants while lacking it itself.")))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<NewKey>,
) -> Result<(StatusCode, crate::extract::Json<CreatedKey>), Error> {
    let (key, secret): (_, Secret) = state.service().create_key(&caller, req).await?;
    Ok((
        StatusCode::CREATED,
        crate::extract::Json(CreatedKey {
            key: KeyView::from(&key),
            secret: secret.expose().to_string(),
        }),
    ))
}

/// The keys the caller may manage (never their secrets).
#[utoipa::path(get, path = "/v1/keys", operation_id = "list_keys", tag = "keys",
    security(("bearer" = ["keys:admin"])),
    responses(
        (status = 200, body = KeyList, description = "The keys the caller may manage")))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<crate::extract::Json<KeyList>, Error> {
    let keys = state.service().list_keys(&caller).await?;
    Ok(crate::extract::Json(KeyList { keys: keys.iter().map(KeyView::from).collect() }))
}

/// Revoke a key; it stops working at once in this process and within two
/// seconds in others.
#[utoipa::path(delete, path = "/v1/keys/{id}", operation_id = "revoke_key", tag = "keys", params(("id" = Uuid, Path)),
    security(("bearer" = ["keys:admin"])),
    responses(
        (status = 200, body = KeyView, description = "The revoked key")))]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<crate::extract::Json<KeyView>, Error> {
    let key = state.service().revoke_key(&caller, id).await?;
    Ok(crate::extract::Json(KeyView::from(&key)))
}
