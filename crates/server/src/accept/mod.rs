//! The accept page: what the link in the email opens. `GET` (and `HEAD`)
//! shows the invitation and changes nothing, so link scanners burn nothing;
//! the Accept and Decline buttons `POST` back with a signed form nonce.
//! Pages are rendered on the server, in the invitation's language, and work
//! without JavaScript.

mod signing;

pub use signing::{check_form_nonce, form_nonce, ticket, with_ticket};

use crate::error::Error;
use crate::state::AppState;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use invitd_core::{Actor, Invitation, LifecycleError, Secret, Status};
use invitd_mail::{format_expiry, pick_language, translate};
use invitd_store::{Audit, Tenant};
use minijinja::context;
use serde::Deserialize;

const PAGE: &str = include_str!("page.html");

/// The page template, parsed once.
static PAGE_ENV: std::sync::LazyLock<Option<minijinja::Environment<'static>>> =
    std::sync::LazyLock::new(|| {
        let mut env = minijinja::Environment::new();
        env.add_template("page.html", PAGE).ok()?;
        Some(env)
    });
const CSS: &str = include_str!("accept.css");

pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/i/{token}", get(show).post(answer))
        .route("/assets/accept.css", get(css))
}

async fn css() -> Response {
    let mut r = ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    r.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

/// What a page says.
struct Page {
    status: StatusCode,
    lang: &'static str,
    tenant: Option<Tenant>,
    heading: String,
    tone: &'static str,
    lines: Vec<String>,
    message: Option<String>,
    note: Option<String>,
    /// The form's nonce, when the page asks for an answer.
    nonce: Option<String>,
}

impl Page {
    fn new(status: StatusCode, lang: &'static str, heading: String) -> Self {
        Page {
            status,
            lang,
            tenant: None,
            heading,
            tone: "",
            lines: vec![],
            message: None,
            note: None,
            nonce: None,
        }
    }

    fn render(self) -> Response {
        let t = |key: &str| translate(self.lang, key, &[]);
        let style_nonce = Secret::generate("").expose()[..22].to_string();
        let tenant = self.tenant.as_ref();
        let html = PAGE_ENV
            .as_ref()
            .ok_or_else(|| minijinja::Error::new(minijinja::ErrorKind::TemplateNotFound, "page.html did not parse"))
            .and_then(|env| env.get_template("page.html"))
            .and_then(|tpl| {
                tpl.render(context! {
                    lang => self.lang,
                    tenant => tenant.map(|t| t.name.clone()),
                    logo => tenant.and_then(|t| t.logo_url.as_deref()).map(|u| minijinja::Value::from_safe_string(escape_attr(u))),
                    accent => tenant.and_then(|t| t.accent_color.clone()),
                    style_nonce => &style_nonce,
                    heading => &self.heading,
                    tone => self.tone,
                    lines => &self.lines,
                    message => &self.message,
                    message_label => t("page-message"),
                    note => &self.note,
                    form => self.nonce.as_ref().map(|nonce| context! {
                        nonce => nonce,
                        accept => t("page-accept"),
                        decline => t("page-decline"),
                    }),
                })
            })
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "accept page template");
                String::from("<!DOCTYPE html><title>Error</title><p>Something went wrong.</p>")
            });
        // Where the form may post: here, and (through the 303 after
        // accepting) the tenant's redirect URL.
        let redirect_origin = tenant
            .and_then(|t| t.accept_redirect_url.as_deref())
            .and_then(origin_of);
        let mut form_action = String::from("'self'");
        if let Some(o) = redirect_origin {
            form_action.push(' ');
            form_action.push_str(&o);
        }
        let csp = format!(
            "default-src 'none'; style-src 'self' 'nonce-{style_nonce}'; img-src https: 'self'; form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
        );
        let mut response = (
            self.status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html,
        )
            .into_response();
        let headers = response.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&csp) {
            headers.insert(header::CONTENT_SECURITY_POLICY, v);
        }
        security_headers(headers);
        response
    }
}

/// Escapes a URL for an HTML attribute, leaving `/` readable.
fn escape_attr(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\'', "&#39;")
}

/// Headers every page (and the redirect after accepting) carries.
fn security_headers(headers: &mut HeaderMap) {
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    (!host.is_empty()).then(|| format!("{scheme}://{host}"))
}

/// The page's language for an invitation (see [`Invitation::language_or`]);
/// an unsupported one falls back to English.
fn language_of(inv: &Invitation, tenant: &Tenant) -> &'static str {
    pick_language(&inv.language_or(tenant.language.as_ref()))
}

/// The language for pages without an invitation: the browser's first
/// choice, if supported.
fn browser_language(headers: &HeaderMap) -> &'static str {
    let first = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|t| t.split(';').next().unwrap_or("").trim().to_string())
        .unwrap_or_default();
    pick_language(&first)
}

fn simple(
    status: StatusCode,
    lang: &'static str,
    title: &str,
    body: &str,
    tenant: Option<Tenant>,
) -> Page {
    let mut page = Page::new(status, lang, translate(lang, title, &[]));
    let name = tenant.as_ref().map(|t| t.name.clone()).unwrap_or_default();
    page.lines.push(translate(lang, body, &[("tenant", name)]));
    page.tone = "gone";
    page.tenant = tenant;
    page
}

/// The page for an invitation that can no longer be answered.
fn closed(status: Status, lang: &'static str, tenant: Tenant) -> Page {
    let (title, body) = match status {
        Status::Accepted => ("page-was-accepted-title", "page-used-body"),
        Status::Declined => ("page-was-declined-title", "page-used-body"),
        Status::Revoked => ("page-revoked-title", "page-revoked-body"),
        Status::Expired | Status::Pending => ("page-expired-title", "page-expired-body"),
    };
    simple(StatusCode::GONE, lang, title, body, Some(tenant))
}

/// The invitation of a token, or the page to show instead.
async fn load(
    state: &AppState,
    token: &str,
    headers: &HeaderMap,
) -> Result<(Invitation, Tenant), Page> {
    let lang = browser_language(headers);
    match state.service().find_token(token).await {
        Ok(inv) => match state.service().tenant_of(&inv).await {
            Ok(tenant) => Ok((inv, tenant)),
            Err(_) => Err(unavailable(lang)),
        },
        Err(Error::Conflict { .. }) => Err(simple(
            StatusCode::GONE,
            lang,
            "page-replaced-title",
            "page-replaced-body",
            None,
        )),
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

fn unavailable(lang: &'static str) -> Page {
    simple(
        StatusCode::SERVICE_UNAVAILABLE,
        lang,
        "page-unavailable-title",
        "page-unavailable-body",
        None,
    )
}

/// `GET /i/{token}`: the invitation and its two buttons. Reads only.
async fn show(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let (inv, tenant) = match load(&state, &token, &headers).await {
        Ok(found) => found,
        Err(page) => return page.render(),
    };
    let now = state.clock.now();
    let lang = language_of(&inv, &tenant);
    let status = inv.status_at(now);
    if status != Status::Pending {
        return closed(status, lang, tenant).render();
    }
    let roles = match state.service().catalogue(&tenant).await {
        Ok(catalogue) => crate::service::invitations::role_names(&inv.roles, &catalogue).join(", "),
        Err(_) => return unavailable(lang).render(),
    };
    let inviter = inv
        .inviter_email
        .clone()
        .or_else(|| inv.inviter_account_id.clone());
    let mut page = Page::new(
        StatusCode::OK,
        lang,
        translate(lang, "page-heading", &[("tenant", tenant.name.clone())]),
    );
    page.lines.push(match inviter {
        Some(who) => translate(
            lang,
            "page-invited-by",
            &[
                ("inviter", who),
                ("tenant", tenant.name.clone()),
                ("roles", roles),
            ],
        ),
        None => translate(
            lang,
            "page-invited",
            &[("tenant", tenant.name.clone()), ("roles", roles)],
        ),
    });
    if let Some(purpose) = &inv.purpose {
        page.lines.push(translate(
            lang,
            "page-purpose",
            &[("purpose", purpose.clone())],
        ));
    }
    page.message = inv.message.clone();
    page.note = Some(format!(
        "{} {}",
        translate(lang, "page-for", &[("email", inv.email.clone())]),
        translate(
            lang,
            "page-valid-until",
            &[("date", format_expiry(lang, inv.expires_at))]
        )
    ));
    page.nonce = Some(form_nonce(&state.form_key, &inv.token_hash, now));
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
fn same_site(headers: &HeaderMap, public_url: &str) -> bool {
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
    let (inv, tenant) = match load(&state, &token, &headers).await {
        Ok(found) => found,
        Err(page) => return page.render(),
    };
    let now = state.clock.now();
    let lang = language_of(&inv, &tenant);
    let refused = |tenant: Tenant| {
        simple(
            StatusCode::FORBIDDEN,
            lang,
            "page-refused-title",
            "page-refused-body",
            Some(tenant),
        )
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
    match state
        .service()
        .answer(inv.token_hash, accept, None, &audit)
        .await
    {
        Ok(done) if accept => {
            if let (Some(url), Some(secret)) = (&tenant.accept_redirect_url, &tenant.ticket_secret)
            {
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
            let mut page = Page::new(
                StatusCode::OK,
                lang,
                translate(lang, "page-accepted-title", &[]),
            );
            page.lines.push(translate(
                lang,
                "page-accepted-body",
                &[("tenant", tenant.name.clone())],
            ));
            page.tone = "done";
            page.tenant = Some(tenant);
            page.render()
        }
        Ok(_) => {
            let mut page = Page::new(
                StatusCode::OK,
                lang,
                translate(lang, "page-declined-title", &[]),
            );
            page.lines.push(translate(
                lang,
                "page-declined-body",
                &[("tenant", tenant.name.clone())],
            ));
            page.tenant = Some(tenant);
            page.render()
        }
        Err(Error::Lifecycle(e)) => {
            let status = match e {
                LifecycleError::AlreadyAccepted => Status::Accepted,
                LifecycleError::AlreadyDeclined => Status::Declined,
                LifecycleError::Revoked => Status::Revoked,
                _ => Status::Expired,
            };
            closed(status, lang, tenant).render()
        }
        Err(Error::NotFound(_)) => simple(
            StatusCode::GONE,
            lang,
            "page-replaced-title",
            "page-replaced-body",
            None,
        )
        .render(),
        Err(_) => unavailable(lang).render(),
    }
}
