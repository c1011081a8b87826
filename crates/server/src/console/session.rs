//! Signing in and out, the session behind every page, and the CSRF check
//! behind every form.
//!
//! A session is an opaque random id in a cookie (`HttpOnly`,
//! `SameSite=Strict`, `Secure` when the public URL is https, scoped to
//! `/admin`); the database keeps only its SHA-256, beside the hash of the
//! API key it was opened with, so a revoked key ends its sessions at once.
//! A session ends after [`IDLE`] without use, or on "Sign out". Every form
//! carries a token derived from the session id with the installation's
//! secret; a post without it (a stolen cookie, a page of another site) is
//! refused, as is one whose `Origin` or `Sec-Fetch-Site` names another
//! site.

use super::render::{self, Page, message, see_other};
use super::strings::text;
use crate::auth::{Caller, KEY_PREFIX};
use crate::error::Error;
use crate::extract::ClientInfo;
use crate::ratelimit::RateLimiter;
use crate::state::AppState;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use invitd_core::{Secret, SecretHash};
use minijinja::context;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use sha2::Sha256;
use std::sync::atomic::Ordering;

/// The session cookie's name.
pub const COOKIE: &str = "invitd_console";
/// A session unused this long is over.
pub const IDLE: time::Duration = time::Duration::hours(8);
/// A session's last use is written back at most this often, so browsing
/// the console is not a write per page.
const TOUCH_EVERY: time::Duration = time::Duration::minutes(1);
/// How long a page waits for its session's bookkeeping write.
const SESSION_WRITE_WAIT: std::time::Duration = std::time::Duration::from_millis(250);
/// Refused sign-ins allowed per client address: this many at once, then
/// this many a minute.
const SIGN_IN_FAILURES_PER_MINUTE: u32 = 10;

pub fn sign_in_limiter() -> RateLimiter {
    RateLimiter::new(SIGN_IN_FAILURES_PER_MINUTE, SIGN_IN_FAILURES_PER_MINUTE)
}

pub use super::signed_in::Session;

/// The session id in the request's cookie, if it has the shape we mint.
fn cookie_id(headers: &HeaderMap) -> Option<Secret> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| Secret::new(value.trim()))
        .filter(|id| id.looks_minted(""))
}

/// The forms' token for a session: HMAC-SHA256 of its id's hash under the
/// installation's secret.
fn csrf_token(form_key: &[u8], id_hash: &SecretHash) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(form_key) else { return String::new() };
    mac.update(b"invitd console csrf\0");
    mac.update(id_hash.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// Where a request without a session goes: the sign-in page, which comes
/// back here afterwards when this was a page (not a form post).
fn to_sign_in(parts: &Parts) -> Response {
    let back = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/admin");
    if parts.method == axum::http::Method::GET && back.starts_with("/admin") {
        let query = serde_urlencoded::to_string([("next", back)]).unwrap_or_default();
        see_other(&format!("/admin/sign-in?{query}"))
    } else {
        see_other("/admin/sign-in")
    }
}

impl FromRequestParts<AppState> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Some(id) = cookie_id(&parts.headers) else { return Err(to_sign_in(parts)) };
        let id_hash = id.hash();
        let now = state.clock.now();
        let session = state
            .store
            .find_session(&id_hash)
            .await
            .map_err(|e| render::error_page(&Error::from(e), None))?;
        let Some(session) = session else { return Err(to_sign_in(parts)) };
        // The session's own writes run beside the request, which waits for
        // them only briefly: a page still reads while the database refuses
        // writes (a full disk, a held lock).
        let store = state.store.clone();
        if session.last_seen_at <= now - IDLE {
            let ending = tokio::spawn(async move { store.end_session(&id_hash).await });
            let _ = tokio::time::timeout(SESSION_WRITE_WAIT, ending).await;
            return Err(to_sign_in(parts));
        }
        let due = now - session.last_seen_at >= TOUCH_EVERY;
        let busy = &state.session_touch;
        if due && !state.write_health.failing() && !busy.swap(true, Ordering::AcqRel) {
            let busy = busy.clone();
            let touch = tokio::spawn(async move {
                let _ = store.touch_session(&id_hash, now).await;
                busy.store(false, Ordering::Release);
            });
            let _ = tokio::time::timeout(SESSION_WRITE_WAIT, touch).await;
        }
        let key = state
            .keys
            .find(&*state.store, &session.key_hash)
            .await
            .map_err(|e| render::error_page(&Error::from(e), None))?;
        // The key was revoked since: the session is over with it.
        let Some(key) = key else { return Err(to_sign_in(parts)) };
        let client = ClientInfo::from_request_parts(parts, state).await.unwrap_or_default();
        Ok(Session {
            caller: Caller { key, client },
            csrf: csrf_token(&state.form_key, &id_hash),
            id_hash,
        })
    }
}

#[derive(Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

/// A form posted from a console page: the session, and the form's fields
/// once its CSRF token and origin have been checked.
pub struct Posted<T> {
    pub session: Session,
    pub form: T,
}

impl<T: DeserializeOwned> FromRequest<AppState> for Posted<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let session = Session::from_request_parts(&mut parts, state).await?;
        let refused = |session: &Session| {
            message(
                StatusCode::FORBIDDEN,
                text("error_title"),
                text("error_expired_form"),
                Some(session),
            )
        };
        let bytes = match axum::body::to_bytes(body, state.config.max_body_bytes).await {
            Ok(bytes) => bytes,
            Err(_) => {
                return Err(render::error_page(&Error::PayloadTooLarge, Some(&session)));
            }
        };
        let token =
            serde_urlencoded::from_bytes::<CsrfField>(&bytes).map(|f| f.csrf).unwrap_or_default();
        let expected = session.csrf.as_bytes();
        let matches = token.len() == expected.len()
            && subtle::ConstantTimeEq::ct_eq(token.as_bytes(), expected).into();
        if !matches || !crate::accept::same_site(&parts.headers, &state.config.public_url) {
            return Err(refused(&session));
        }
        match serde_urlencoded::from_bytes::<T>(&bytes) {
            Ok(form) => Ok(Posted { session, form }),
            Err(e) => {
                Err(render::error_page(&Error::invalid("form", e.to_string()), Some(&session)))
            }
        }
    }
}

#[derive(Deserialize, Default)]
pub(super) struct Next {
    next: Option<String>,
    signed_out: Option<String>,
}

/// Only a path inside the console is a place to come back to.
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with("/admin") && !n.starts_with("//") && !n.contains('\\') => n,
        _ => "/admin",
    }
}

fn sign_in_page(status: StatusCode, next: Option<&str>, error: Option<&str>) -> Response {
    sign_in_page_with(status, next, error, None)
}

fn sign_in_page_with(
    status: StatusCode,
    next: Option<&str>,
    error: Option<&str>,
    notice: Option<&str>,
) -> Response {
    Page::new(
        "sign_in.html",
        text("sign_in_title"),
        context! {
            next => next.map(|n| safe_next(Some(n)).to_string()),
            error => error,
            notice => notice,
        },
    )
    .status(status)
    .render(None)
}

/// `GET /admin/sign-in`.
pub(super) async fn sign_in_form(
    axum::extract::Query(query): axum::extract::Query<Next>,
) -> Response {
    let notice = query.signed_out.is_some().then(|| text("signed_out"));
    sign_in_page_with(StatusCode::OK, query.next.as_deref(), None, notice)
}

#[derive(Deserialize)]
pub(super) struct SignIn {
    #[serde(default)]
    api_key: String,
    next: Option<String>,
}

/// The client address sign-in failures are counted under: the peer, or
/// behind a trusted proxy the address it forwarded (as the rate limit of
/// the accept page counts).
fn client_ip(state: &AppState, client: &ClientInfo, headers: &HeaderMap) -> std::net::IpAddr {
    let peer = client
        .ip
        .as_deref()
        .and_then(|ip| ip.parse().ok())
        .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    crate::ratelimit::client_address(peer, headers, &state.config.trusted_proxies)
}

/// `POST /admin/sign-in`: checks the key and opens a session. A refused
/// key counts against the client address's limit; past it, even a good
/// key waits.
pub(super) async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    client: ClientInfo,
    form: Result<axum::Form<SignIn>, axum::extract::rejection::FormRejection>,
) -> Response {
    let ip = client_ip(&state, &client, &headers);
    if let Err(wait) = state.sign_in_limiter.peek(ip) {
        let mut response =
            sign_in_page(StatusCode::TOO_MANY_REQUESTS, None, Some(text("too_many_attempts")));
        if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return response;
    }
    let Ok(axum::Form(form)) = form else {
        return sign_in_page(StatusCode::BAD_REQUEST, None, Some(text("key_not_accepted")));
    };
    let next = form.next.as_deref();
    if !crate::accept::same_site(&headers, &state.config.public_url) {
        return sign_in_page(StatusCode::FORBIDDEN, next, Some(text("error_expired_form")));
    }
    let secret = Secret::new(form.api_key.trim());
    let key = if secret.looks_minted(KEY_PREFIX) {
        match state.keys.find(&*state.store, &secret.hash()).await {
            Ok(key) => key,
            Err(e) => return render::error_page(&Error::from(e), None),
        }
    } else {
        None
    };
    let Some(_key) = key else {
        let _ = state.sign_in_limiter.check(ip);
        tracing::info!(ip = %ip, "console sign-in refused");
        return sign_in_page(StatusCode::UNAUTHORIZED, next, Some(text("key_not_accepted")));
    };
    let id = Secret::generate("");
    let now = state.clock.now();
    if let Err(e) = state.store.create_session(&id.hash(), &secret.hash(), now, now - IDLE).await {
        return render::error_page(&Error::from(e), None);
    }
    let mut response = see_other(safe_next(next));
    let secure = if state.config.public_url.starts_with("https://") { "; Secure" } else { "" };
    let cookie =
        format!("{COOKIE}={}; Path=/admin; HttpOnly; SameSite=Strict{secure}", id.expose());
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

#[derive(Deserialize)]
pub struct Empty {}

/// `POST /admin/sign-out`: ends the session here and in the database.
pub(super) async fn sign_out(State(state): State<AppState>, posted: Posted<Empty>) -> Response {
    if let Err(e) = state.store.end_session(&posted.session.id_hash).await {
        return render::error_page(&Error::from(e), Some(&posted.session));
    }
    let mut response = see_other("/admin/sign-in?signed_out=1");
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "invitd_console=; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=0",
        ),
    );
    response
}
