//! The one error type of the server's domain boundary. Every API face
//! renders it in its own shape; the native `/v1` face renders RFC 9457
//! problem documents here. Clients get a stable `code` and a message, never
//! internal text: the cause of a 5xx is logged, not returned.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use invitd_core::LifecycleError;
use invitd_store::StoreError;
use serde::Serialize;

/// A problem with one field of the request.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// Everything that can go wrong, each with its status and stable code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 401 `unauthorized`: no key, an unknown key or a revoked key.
    #[error("a valid API key is required")]
    Unauthorized,
    /// 403 `forbidden`: the key lacks a scope.
    #[error("this API key lacks the scope {0}")]
    Forbidden(String),
    /// 404 `not_found`: missing, or another tenant's.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 400 `invalid_request`: a field is wrong.
    #[error("the request is invalid")]
    Invalid(Vec<FieldError>),
    /// 400 `malformed_json`: the body is not the JSON expected.
    #[error("{0}")]
    MalformedJson(String),
    /// 405 `method_not_allowed`: the path exists, not with this method.
    #[error("this path does not take this method")]
    MethodNotAllowed,
    /// 415 `unsupported_media_type`.
    #[error("the body must be application/json")]
    UnsupportedMediaType,
    /// 413 `payload_too_large`.
    #[error("the request body is too large")]
    PayloadTooLarge,
    /// 400 `unknown_role`: the call names roles the tenant does not have.
    #[error("unknown roles: {}", .0.join(", "))]
    UnknownRoles(Vec<String>),
    /// 409 with a specific code: a uniqueness rule.
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// The lifecycle refused (409 for a finished invitation, 410 for an
    /// expired one, 429 for resend limits).
    #[error(transparent)]
    Lifecycle(#[from] LifecycleError),
    /// 422 `idempotency_key_reused`: same key, other body.
    #[error("this Idempotency-Key was used with a different request")]
    IdempotencyMismatch,
    /// 429 `rate_limited`: too many unauthenticated requests from one
    /// client address.
    #[error("too many requests from this address; retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// 429 `quota_exceeded`: nothing could be created, the tenant's (or
    /// the inviter's) invitations per 24 hours being used up.
    #[error("{message}")]
    QuotaExceeded { retry_after_secs: u64, message: String },
    /// 408 `request_timeout`: the request (reading its body included) was
    /// not finished within the server's request timeout.
    #[error("the request was not completed within the server's time limit")]
    RequestTimeout,
    /// 503 `unavailable`: the database does not answer.
    #[error("the service is temporarily unavailable")]
    Unavailable,
    /// 500 `internal`: a bug or an unexpected failure; details are logged.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl Error {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Invalid(vec![FieldError { field: field.into(), message: message.into() }])
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Error::Unauthorized => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Invalid(_) | Error::MalformedJson(_) | Error::UnknownRoles(_) => {
                StatusCode::BAD_REQUEST
            }
            Error::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Error::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Error::Conflict { .. } => StatusCode::CONFLICT,
            Error::Lifecycle(e) => match e {
                LifecycleError::Expired => StatusCode::GONE,
                LifecycleError::AlreadyAccepted
                | LifecycleError::AlreadyDeclined
                | LifecycleError::Revoked => StatusCode::CONFLICT,
                LifecycleError::ResendCooldown { .. } | LifecycleError::ResendLimit { .. } => {
                    StatusCode::TOO_MANY_REQUESTS
                }
            },
            Error::IdempotencyMismatch => StatusCode::UNPROCESSABLE_ENTITY,
            Error::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Error::RateLimited { .. } | Error::QuotaExceeded { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            Error::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Unauthorized => "unauthorized",
            Error::Forbidden(_) => "forbidden",
            Error::NotFound(_) => "not_found",
            Error::Invalid(_) => "invalid_request",
            Error::MalformedJson(_) => "malformed_json",
            Error::MethodNotAllowed => "method_not_allowed",
            Error::UnsupportedMediaType => "unsupported_media_type",
            Error::PayloadTooLarge => "payload_too_large",
            Error::UnknownRoles(_) => "unknown_role",
            Error::Conflict { code, .. } => code,
            Error::Lifecycle(e) => match e {
                LifecycleError::Expired => "invitation_expired",
                LifecycleError::AlreadyAccepted => "invitation_already_accepted",
                LifecycleError::AlreadyDeclined => "invitation_already_declined",
                LifecycleError::Revoked => "invitation_revoked",
                LifecycleError::ResendCooldown { .. } => "resend_cooldown",
                LifecycleError::ResendLimit { .. } => "resend_limit_reached",
            },
            Error::IdempotencyMismatch => "idempotency_key_reused",
            Error::RequestTimeout => "request_timeout",
            Error::RateLimited { .. } => "rate_limited",
            Error::QuotaExceeded { .. } => "quota_exceeded",
            Error::Unavailable => "unavailable",
            Error::Internal(_) => "internal",
        }
    }

    /// Seconds for a `Retry-After` header, where one applies.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Error::Lifecycle(
                LifecycleError::ResendCooldown { retry_after_secs }
                | LifecycleError::ResendLimit { retry_after_secs },
            ) => Some(*retry_after_secs),
            Error::RateLimited { retry_after_secs }
            | Error::QuotaExceeded { retry_after_secs, .. } => Some(*retry_after_secs),
            Error::Unavailable => Some(5),
            _ => None,
        }
    }

    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            Error::Invalid(errors) => errors,
            _ => &[],
        }
    }

    /// Logs a server-side failure once, where it is turned into a response.
    pub(crate) fn log(&self) {
        if let Error::Internal(cause) = self {
            tracing::error!(error = ?cause, "internal error");
        }
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Error::NotFound("resource"),
            StoreError::Conflict(message) => Error::Conflict { code: "conflict", message },
            StoreError::Lifecycle(l) => Error::Lifecycle(l),
            StoreError::Unavailable(e) => {
                tracing::warn!(error = %e, "database unavailable");
                Error::Unavailable
            }
            other => Error::Internal(other.into()),
        }
    }
}

/// The media type of problem documents (RFC 9457).
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// An RFC 9457 problem document, with the stable `code` as an extension;
/// served as `application/problem+json`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// Always `about:blank`: the `code` says what happened.
    #[serde(rename = "type")]
    #[schema(example = "about:blank")]
    pub kind: String,
    /// The status's reason phrase, such as `Not Found`.
    pub title: String,
    /// The HTTP status, repeated.
    #[schema(minimum = 400, maximum = 599)]
    pub status: u16,
    /// What went wrong, for people.
    pub detail: String,
    /// Stable machine-readable code, such as `not_found` or `resend_cooldown`.
    pub code: String,
    /// Per-field problems, for `invalid_request`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// The request's id, as in the `x-request-id` response header (the
    /// client's own when it sent one); quote it when reporting a problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        self.log();
        let status = self.status();
        let problem = Problem {
            kind: "about:blank".into(),
            title: status.canonical_reason().unwrap_or("Error").into(),
            status: status.as_u16(),
            detail: self.to_string(),
            code: self.code().into(),
            errors: self.field_errors().to_vec(),
            request_id: crate::http::request_id::RequestId::current(),
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_CONTENT_TYPE));
        if let Some(secs) = self.retry_after() {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}
