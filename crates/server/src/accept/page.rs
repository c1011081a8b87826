//! What a page says and how it is rendered: the template, the styles,
//! the security headers every page carries, and the pages for links that
//! can no longer be answered.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use invitd_core::{Invitation, Secret, Status};
use invitd_mail::{pick_language, translate};
use invitd_store::Tenant;
use minijinja::context;

const PAGE: &str = include_str!("page.html");

/// The page template, parsed once.
static PAGE_ENV: std::sync::LazyLock<Option<minijinja::Environment<'static>>> =
    std::sync::LazyLock::new(|| {
        let mut env = minijinja::Environment::new();
        env.add_template("page.html", PAGE).ok()?;
        Some(env)
    });
const CSS: &str = include_str!("accept.css");

pub(super) async fn css() -> Response {
    let mut r = ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    r.headers_mut().insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    r
}

/// What a page says.
pub(super) struct Page {
    pub(super) status: StatusCode,
    pub(super) lang: &'static str,
    pub(super) tenant: Option<Tenant>,
    pub(super) heading: String,
    pub(super) tone: &'static str,
    pub(super) lines: Vec<String>,
    pub(super) message: Option<String>,
    pub(super) note: Option<String>,
    /// The form's nonce, when the page asks for an answer.
    pub(super) nonce: Option<String>,
    /// Where accepting leads (the invitation's landing page or the
    /// tenant's); absent: the tenant's redirect URL.
    pub(super) redirect: Option<String>,
}

impl Page {
    pub(super) fn new(status: StatusCode, lang: &'static str, heading: String) -> Self {
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
            redirect: None,
        }
    }

    pub(super) fn render(self) -> Response {
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
                    logo => tenant.and_then(|t| t.logo_url.as_deref()).map(|u| minijinja::Value::from_safe_string(invitd_mail::escape_html(u))),
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
        // accepting) the invitation's or the tenant's redirect URL.
        let redirect_origin = self
            .redirect
            .as_deref()
            .or(tenant.and_then(|t| t.accept_redirect_url.as_deref()))
            .and_then(origin_of);
        let mut form_action = String::from("'self'");
        if let Some(o) = redirect_origin {
            form_action.push(' ');
            form_action.push_str(&o);
        }
        let csp = format!(
            "default-src 'none'; style-src 'self' 'nonce-{style_nonce}'; img-src https: 'self'; form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
        );
        let mut response =
            (self.status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], html)
                .into_response();
        let headers = response.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&csp) {
            headers.insert(header::CONTENT_SECURITY_POLICY, v);
        }
        security_headers(headers);
        response
    }
}

/// Headers every page (and the redirect after accepting) carries.
pub(crate) fn security_headers(headers: &mut HeaderMap) {
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// `scheme://host[:port]` of a URL.
pub(super) fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    (!host.is_empty()).then(|| format!("{scheme}://{host}"))
}

/// The page's language for an invitation (see [`Invitation::language_or`]);
/// an unsupported one falls back to English.
pub(super) fn language_of(inv: &Invitation, tenant: &Tenant) -> &'static str {
    pick_language(&inv.language_or(tenant.language.as_ref()))
}

/// The language for pages without an invitation: the browser's first
/// choice, if supported.
pub(super) fn browser_language(headers: &HeaderMap) -> &'static str {
    let first = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|t| t.split(';').next().unwrap_or("").trim().to_string())
        .unwrap_or_default();
    pick_language(&first)
}

pub(super) fn simple(
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
pub(super) fn closed(status: Status, lang: &'static str, tenant: Tenant) -> Page {
    let (title, body) = match status {
        Status::Accepted => ("page-was-accepted-title", "page-used-body"),
        Status::Declined => ("page-was-declined-title", "page-used-body"),
        Status::Revoked => ("page-revoked-title", "page-revoked-body"),
        Status::Expired | Status::Pending => ("page-expired-title", "page-expired-body"),
    };
    simple(StatusCode::GONE, lang, title, body, Some(tenant))
}

pub(super) fn unavailable(lang: &'static str) -> Page {
    simple(
        StatusCode::SERVICE_UNAVAILABLE,
        lang,
        "page-unavailable-title",
        "page-unavailable-body",
        None,
    )
}
