//! How a console page becomes a response: the templates (parsed once),
//! the frame every page shares, the styles and script, the security
//! headers, and the pages for errors.

use super::signed_in::Session;
use super::strings;
use crate::error::Error;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use invitd_core::Secret;
use invitd_mail::escape_html;
use minijinja::{Environment, Value, context};
use std::sync::LazyLock;
use time::OffsetDateTime;

/// The templates, by name, embedded in the binary (one line each).
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("sign_in.html", include_str!("templates/sign_in.html")),
    ("message.html", include_str!("templates/message.html")),
    ("tenants.html", include_str!("templates/tenants.html")),
    ("find_form.html", include_str!("templates/find_form.html")),
    ("find.html", include_str!("templates/find.html")),
    ("invitation.html", include_str!("templates/invitation.html")),
    ("confirm.html", include_str!("templates/confirm.html")),
    ("invitations.html", include_str!("templates/invitations.html")),
    ("invitations_new.html", include_str!("templates/invitations_new.html")),
    ("invitations_sent.html", include_str!("templates/invitations_sent.html")),
    ("webhooks.html", include_str!("templates/webhooks.html")),
    ("webhook.html", include_str!("templates/webhook.html")),
    ("webhook_secret.html", include_str!("templates/webhook_secret.html")),
    ("tenant.html", include_str!("templates/tenant.html")),
    ("keys.html", include_str!("templates/keys.html")),
    ("key_revoke.html", include_str!("templates/key_revoke.html")),
];

static ENV: LazyLock<Result<Environment<'static>, minijinja::Error>> = LazyLock::new(|| {
    let mut env = Environment::new();
    for (name, source) in TEMPLATES {
        env.add_template(name, source)?;
    }
    env.add_filter("at", at);
    env.add_filter("status", status_badge);
    Ok(env)
});

/// The strings, as templates see them (`t.sign_in`).
static STRINGS: LazyLock<Value> =
    LazyLock::new(|| Value::from_iter(strings::EN.iter().map(|(k, v)| (*k, *v))));

const CSS: &str = include_str!("console.css");
const JS: &str = include_str!("console.js");

pub(super) async fn css() -> Response {
    asset("text/css; charset=utf-8", CSS)
}

pub(super) async fn js() -> Response {
    asset("text/javascript; charset=utf-8", JS)
}

fn asset(kind: &'static str, body: &'static str) -> Response {
    let mut r = ([(header::CONTENT_TYPE, kind)], body).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    r.headers_mut().insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    r
}

/// A time as the page shows it: a `<time>` element in UTC, which the
/// script rewrites into the browser's time zone when it runs.
pub fn when(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// `{{ value|at }}`: an RFC 3339 time (from [`when`]) as `<time>`.
fn at(value: Option<String>) -> Value {
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        return Value::from("–");
    };
    let Ok(t) = OffsetDateTime::parse(&value, &time::format_description::well_known::Rfc3339)
    else {
        return Value::from(value);
    };
    let t = t.to_offset(time::UtcOffset::UTC);
    let shown = format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    );
    Value::from_safe_string(format!(
        "<time datetime=\"{}\">{}</time>",
        escape_html(&value),
        escape_html(&shown)
    ))
}

/// `{{ status|status }}`: a status as a word in a coloured badge (the
/// colour only repeats the word).
fn status_badge(status: String) -> Value {
    let word = strings::text_or(&format!("status_{status}"), &status);
    Value::from_safe_string(format!(
        "<span class=\"badge badge-{}\">{}</span>",
        escape_html(&status),
        escape_html(word)
    ))
}

/// A page to render: its template, its title and what it shows.
pub struct Page {
    pub status: StatusCode,
    pub template: &'static str,
    pub title: String,
    pub values: Value,
    /// Extra CSS for this page only (a tenant's accent colour in a
    /// preview), sent in a `<style>` with this response's nonce.
    pub style: Option<String>,
}

impl Page {
    pub fn new(template: &'static str, title: impl Into<String>, values: Value) -> Self {
        Page { status: StatusCode::OK, template, title: title.into(), values, style: None }
    }

    pub fn status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// Renders the page in the frame, for `session` (None: signed out).
    pub fn render(self, session: Option<&Session>) -> Response {
        let style_nonce = Secret::generate("").expose()[..22].to_string();
        let me = session.map(|s| {
            context! {
                name => s.caller.key.name.clone(),
                hint => s.caller.key.hint.clone(),
                keys => s.caller.has(crate::auth::Scope::KeysAdmin),
                tenants_admin => s.caller.has(crate::auth::Scope::TenantsAdmin),
                write => s.caller.has(crate::auth::Scope::InvitesWrite),
            }
        });
        let frame = context! {
            t => STRINGS.clone(),
            title => &self.title,
            me => me,
            csrf => session.map(|s| s.csrf.clone()),
            style_nonce => &style_nonce,
            style => self.style.as_deref(),
        };
        let html = match &*ENV {
            Ok(env) => env
                .get_template(self.template)
                .and_then(|tpl| tpl.render(context! { ..frame, ..self.values })),
            Err(e) => Err(minijinja::Error::new(e.kind(), "the console templates did not parse")),
        };
        let (status, html) = match html {
            Ok(html) => (self.status, html),
            Err(e) => {
                tracing::error!(error = %e, template = self.template, "console template");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    String::from(
                        "<!DOCTYPE html><html lang=\"en\"><title>Error</title><p>Something went wrong.</p></html>",
                    ),
                )
            }
        };
        let mut response =
            (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
        let csp = format!(
            "default-src 'none'; style-src 'self' 'nonce-{style_nonce}'; script-src 'self'; img-src 'self' https: data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        );
        let headers = response.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&csp) {
            headers.insert(header::CONTENT_SECURITY_POLICY, v);
        }
        security_headers(headers);
        response
    }
}

/// The headers of every console response, pages and redirects alike.
pub fn security_headers(headers: &mut HeaderMap) {
    crate::accept::page::security_headers(headers);
    headers.insert(
        header::HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
}

/// A `303 See Other` to `to`, with the console's headers.
pub fn see_other(to: &str) -> Response {
    let mut response = axum::response::Redirect::to(to).into_response();
    security_headers(response.headers_mut());
    response
}

/// A page that only says something: a heading and one line.
pub fn message(
    status: StatusCode,
    heading: &str,
    line: &str,
    session: Option<&Session>,
) -> Response {
    Page::new("message.html", heading, context! { heading => heading, line => line })
        .status(status)
        .render(session)
}

/// The page for an error of the service: what went wrong in words, with
/// the status the API would answer (a 503 with `Retry-After`).
pub fn error_page(error: &Error, session: Option<&Session>) -> Response {
    let t = strings::text;
    let (status, line) = match error {
        Error::Forbidden(scope) => {
            (StatusCode::FORBIDDEN, format!("{} {scope}.", t("error_forbidden")))
        }
        Error::NotFound(_) => (StatusCode::NOT_FOUND, t("error_not_found").to_string()),
        Error::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, t("error_unavailable").to_string()),
        Error::Invalid(fields) => (
            StatusCode::BAD_REQUEST,
            fields
                .iter()
                .map(|f| format!("{}: {}", f.field, f.message))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        other => {
            let status = other.status();
            if status.is_server_error() {
                (status, t("error_unavailable").to_string())
            } else {
                (status, other.to_string())
            }
        }
    };
    let mut response = message(status, t("error_title"), &line, session);
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every template parses, and everything it includes, extends and
    /// filters through exists (rendered with nothing in its context, a
    /// template may still stop at a value it needs; nothing else).
    #[test]
    fn every_template_parses_and_its_references_exist() {
        use minijinja::ErrorKind::*;
        let env = match &*ENV {
            Ok(env) => env,
            Err(e) => panic!("templates: {e:#}"),
        };
        for (name, _) in TEMPLATES {
            let rendered =
                env.get_template(name).and_then(|t| t.render(context! { t => STRINGS.clone() }));
            if let Err(e) = rendered {
                let broken = matches!(
                    e.kind(),
                    TemplateNotFound | SyntaxError | UnknownFilter | UnknownTest | UnknownFunction
                );
                assert!(!broken, "{name}: {e:#}");
            }
        }
    }

    /// Each string is named once, and every `t.<name>` a template uses is
    /// one of them.
    #[test]
    fn strings_are_unique_and_every_one_a_template_uses_exists() {
        let mut seen = std::collections::HashSet::new();
        for (key, _) in strings::EN {
            assert!(seen.insert(*key), "the string {key} is defined twice");
        }
        for (name, source) in TEMPLATES {
            for (at, _) in source.match_indices("t.") {
                let before = source[..at].chars().last();
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
                    continue;
                }
                let key: String = source[at + 2..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !key.is_empty() {
                    assert!(
                        seen.contains(key.as_str()),
                        "{name} uses t.{key}, which is not defined"
                    );
                }
            }
        }
    }
}
