//! The accept page: what the link in the email opens. `GET` (and `HEAD`)
//! shows the invitation and changes nothing, so link scanners burn nothing;
//! the Accept and Decline buttons `POST` back with a signed form nonce.
//! Pages are rendered on the server, in the invitation's language, and work
//! without JavaScript.

pub(crate) mod page;
mod signing;

pub use signing::{check_form_nonce, form_nonce, ticket, with_ticket};

use page::{
    Page, browser_language, closed, css, language_of, origin_of, security_headers, simple,
    unavailable,
};

use crate::error::Error;
use crate::state::AppState;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use invitd_core::{Actor, Invitation, LifecycleError, Status};
use invitd_mail::{format_expiry, translate};
use invitd_store::{Audit, Tenant};
use serde::Deserialize;

pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/i/{token}", get(show).post(answer))
        .route("/assets/accept.css", get(css))
}

/// A token's invitation, its tenant, the page's language and the time
/// the request is answered at.
struct Opened {
    inv: Invitation,
    tenant: Tenant,
    lang: &'static str,
    now: time::OffsetDateTime,
}

/// The invitation of a token, or the page to show instead (rendered).
async fn load(state: &AppState, token: &str, headers: &HeaderMap) -> Result<Opened, Response> {
    load_page(state, token, headers).await.map_err(Page::render)
}

async fn load_page(state: &AppState, token: &str, headers: &HeaderMap) -> Result<Opened, Page> {
    let lang = browser_language(headers);
    match state.service().find_token(token).await {
        Ok(inv) => match state.service().tenant_of(&inv).await {
            Ok(tenant) => {
                let lang = language_of(&inv, &tenant);
                Ok(Opened { inv, tenant, lang, now: state.clock.now() })
            }
            Err(_) => Err(unavailable(lang)),
        },
        Err(Error::Conflict { .. }) => {
            Err(simple(StatusCode::GONE, lang, "page-replaced-title", "page-replaced-body", None))
        }
        Err(Error::NotFound(_)) => Err(simple(
            StatusCode::NOT_FOUND,
            lang,
            "page-unknown-title",
            "page-unknown-body",
            None,
        )),
        Err(_) => Err(unavailable(lang)),
    }
}

/// `GET /i/{token}`: the invitation and its two buttons. Reads only.
async fn show(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Opened { inv, tenant, lang, now } = match load(&state, &token, &headers).await {
        Ok(opened) => opened,
        Err(page) => return page,
    };
    let status = inv.status_at(now);
    if status != Status::Pending {
        return closed(status, lang, tenant).render();
    }
    let roles = match state.service().catalogue(&tenant).await {
        Ok(catalogue) => {
            crate::service::invitations::role_labels(&inv.roles, &catalogue, lang).join(", ")
        }
        Err(_) => return unavailable(lang).render(),
    };
    let inviter = inv.inviter_email.clone().or_else(|| inv.inviter_account_id.clone());
    let mut page = Page::new(
        StatusCode::OK,
        lang,
        translate(lang, "page-heading", &[("tenant", tenant.name.clone())]),
    );
    page.lines.push(match inviter {
        Some(who) => translate(
            lang,
            "page-invited-by",
            &[("inviter", who), ("tenant", tenant.name.clone()), ("roles", roles)],
        ),
        None => {
            translate(lang, "page-invited", &[("tenant", tenant.name.clone()), ("roles", roles)])
        }
    });
    if let Some(purpose) = &inv.purpose {
        page.lines.push(translate(lang, "page-purpose", &[("purpose", purpose.clone())]));
    }
    page.message = inv.message.clone();
    page.note = Some(format!(
        "{} {}",
        translate(lang, "page-for", &[("email", inv.email.clone())]),
        translate(lang, "page-valid-until", &[("date", format_expiry(lang, inv.expires_at))])
    ));
    page.nonce = Some(form_nonce(&state.form_key, &inv.token_hash, now));
    page.redirect = crate::service::redirects::redirect_for(&inv, &tenant).map(str::to_string);
    page.tenant = Some(tenant);
    page.render()
}

#[derive(Deserialize)]
struct AnswerForm {
    nonce: String,
    answer: String,
}

/// Whether a form post comes from a page of this service: a browser's
/// `Sec-Fetch-Site` must not say another site, and an `Origin` other than
/// `null` (what browsers send under `Referrer-Policy: no-referrer`) must be
/// ours.
pub(crate) fn same_site(headers: &HeaderMap, public_url: &str) -> bool {
    let fetch_site_ok = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| matches!(v, "same-origin" | "none"));
    let origin_ok = match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        None | Some("null") => true,
        Some(origin) => origin_of(public_url).is_some_and(|ours| ours.eq_ignore_ascii_case(origin)),
    };
    fetch_site_ok && origin_ok
}

/// `POST /i/{token}`: accept or decline, once.
async fn answer(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    client: crate::extract::ClientInfo,
    form: Result<Form<AnswerForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Opened { inv, tenant, lang, now } = match load(&state, &token, &headers).await {
        Ok(opened) => opened,
        Err(page) => return page,
    };
    let refused = |tenant: Tenant| {
        simple(StatusCode::FORBIDDEN, lang, "page-refused-title", "page-refused-body", Some(tenant))
            .render()
    };
    let Ok(Form(form)) = form else {
        return refused(tenant);
    };
    let accept = match form.answer.as_str() {
        "accept" => true,
        "decline" => false,
        _ => return refused(tenant),
    };
    if !same_site(&headers, &state.config.public_url)
        || !check_form_nonce(&state.form_key, &inv.token_hash, &form.nonce, now)
    {
        return refused(tenant);
    }
    let audit = Audit {
        actor: Actor::Invitee { account_id: None },
        ip: client.ip,
        user_agent: client.user_agent,
    };
    match state.service().answer(inv.token_hash, accept, None, &audit).await {
        Ok(done) if accept => {
            let redirect = crate::service::redirects::redirect_for(&done, &tenant);
            if let (Some(url), Some(secret)) = (redirect, &tenant.ticket_secret) {
                match ticket(secret.expose(), &state.config.public_url, &done, now) {
                    Ok(ticket) => {
                        let mut response = Redirect::to(&with_ticket(url, &ticket)).into_response();
                        security_headers(response.headers_mut());
                        return response;
                    }
                    // The invitation is accepted either way: say so here
                    // rather than send the invitee off without a ticket.
                    Err(e) => tracing::error!(
                        tenant = %tenant.id.as_str(),
                        error = %e,
                        "cannot sign the accept ticket; showing the accepted page"
                    ),
                }
            }
            answered_page(lang, tenant, "accepted", "done")
        }
        Ok(_) => answered_page(lang, tenant, "declined", ""),
        Err(Error::Lifecycle(e)) => {
            let status = match e {
                LifecycleError::AlreadyAccepted => Status::Accepted,
                LifecycleError::AlreadyDeclined => Status::Declined,
                LifecycleError::Revoked => Status::Revoked,
                _ => Status::Expired,
            };
            closed(status, lang, tenant).render()
        }
        Err(Error::NotFound(_)) => {
            simple(StatusCode::GONE, lang, "page-replaced-title", "page-replaced-body", None)
                .render()
        }
        Err(_) => unavailable(lang).render(),
    }
}

/// The page after an answer (`accepted` or `declined`), naming the tenant.
fn answered_page(lang: &'static str, tenant: Tenant, answer: &str, tone: &'static str) -> Response {
    let title = translate(lang, &format!("page-{answer}-title"), &[]);
    let mut page = Page::new(StatusCode::OK, lang, title);
    let body = translate(lang, &format!("page-{answer}-body"), &[("tenant", tenant.name.clone())]);
    page.lines.push(body);
    page.tone = tone;
    page.tenant = Some(tenant);
    page.render()
}
