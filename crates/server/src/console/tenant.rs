//! One tenant: its invitations counted by effective status (each a link to
//! the table filtered by it), its settings (a form for a key with
//! `tenants:admin`, read-only otherwise) and a preview of how its accept
//! page looks with the saved logo and accent colour.
//!
//! The form's rule for empty fields: an empty text field (language,
//! redirect URL, logo, colour) clears that setting; an empty number field
//! leaves the setting as it is; the name cannot be empty.

use super::render::{Page, error_page, see_other};
use super::session::{Posted, Session};
use super::strings::text;
use crate::auth::Scope;
use crate::error::{Error, FieldError};
use crate::service::tenants::TenantPatch;
use crate::state::AppState;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use invitd_store::{StatusCounts, Tenant};
use minijinja::{Value, context};
use serde::Deserialize;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/admin/tenants/{tenant}", get(show).post(save))
}

#[derive(Deserialize, Default)]
struct ShowQuery {
    done: Option<String>,
}

/// The settings form as posted: every field a string, so that a bad
/// number comes back in its field instead of failing the whole form.
#[derive(Deserialize, Default)]
#[serde(default)]
struct SettingsForm {
    name: String,
    language: String,
    invitation_lifetime_days: String,
    resend_cooldown_seconds: String,
    max_resends: String,
    accept_redirect_url: String,
    logo_url: String,
    accent_color: String,
}

impl SettingsForm {
    /// The form filled with the tenant's saved settings.
    fn of(t: &Tenant) -> Self {
        SettingsForm {
            name: t.name.clone(),
            language: t.language.as_ref().map(|l| l.as_str().to_string()).unwrap_or_default(),
            invitation_lifetime_days: t.lifetime_days.to_string(),
            resend_cooldown_seconds: t.resend_cooldown_secs.to_string(),
            max_resends: t.max_resends.to_string(),
            accept_redirect_url: t.accept_redirect_url.clone().unwrap_or_default(),
            logo_url: t.logo_url.clone().unwrap_or_default(),
            accent_color: t.accent_color.clone().unwrap_or_default(),
        }
    }

    /// The change the form asks for; the fields whose numbers do not parse
    /// otherwise (the service checks everything else).
    fn patch(&self) -> Result<TenantPatch, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut number = |field: &str, value: &str| -> Option<i64> {
            let value = value.trim();
            if value.is_empty() {
                return None;
            }
            value.parse().map_err(|_| errors.push(invalid(field))).ok()
        };
        let lifetime = number("invitation_lifetime_days", &self.invitation_lifetime_days);
        let cooldown = number("resend_cooldown_seconds", &self.resend_cooldown_seconds);
        let resends = number("max_resends", &self.max_resends);
        let max_resends = match resends.map(u32::try_from) {
            Some(Err(_)) => {
                errors.push(FieldError {
                    field: "max_resends".into(),
                    message: "must be 0 to 1000".into(),
                });
                None
            }
            Some(Ok(n)) => Some(n),
            None => None,
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        // Empty clears: `Some(None)`.
        let optional = |v: &str| Some(Some(v.trim().to_string()).filter(|v| !v.is_empty()));
        Ok(TenantPatch {
            name: Some(self.name.clone()),
            language: optional(&self.language),
            invitation_lifetime_days: lifetime,
            resend_cooldown_seconds: cooldown,
            max_resends,
            accept_redirect_url: optional(&self.accept_redirect_url),
            logo_url: optional(&self.logo_url),
            accent_color: optional(&self.accent_color),
            ..TenantPatch::default()
        })
    }
}

fn invalid(field: &str) -> FieldError {
    FieldError { field: field.into(), message: text("setting_whole_number").into() }
}

/// The form's fields in order: (name, label, hint, input type).
const FIELDS: [(&str, &str, &str, &str); 8] = [
    ("name", "setting_name", "setting_name_hint", "text"),
    ("language", "setting_language", "setting_language_hint", "text"),
    ("invitation_lifetime_days", "setting_lifetime", "setting_lifetime_hint", "number"),
    ("resend_cooldown_seconds", "setting_cooldown", "setting_cooldown_hint", "number"),
    ("max_resends", "setting_max_resends", "setting_max_resends_hint", "number"),
    ("accept_redirect_url", "setting_redirect", "setting_redirect_hint", "url"),
    ("logo_url", "setting_logo", "setting_logo_hint", "url"),
    ("accent_color", "setting_accent", "setting_accent_hint", "text"),
];

/// The fields as the template shows them: label, hint, value and the
/// error of each.
fn fields(form: &SettingsForm, errors: &[FieldError]) -> Vec<Value> {
    let values = [
        &form.name,
        &form.language,
        &form.invitation_lifetime_days,
        &form.resend_cooldown_seconds,
        &form.max_resends,
        &form.accept_redirect_url,
        &form.logo_url,
        &form.accent_color,
    ];
    FIELDS
        .iter()
        .zip(values)
        .map(|((id, label, hint, kind), value)| {
            let error: Vec<&str> =
                errors.iter().filter(|e| e.field == *id).map(|e| e.message.as_str()).collect();
            context! {
                id => id,
                label => text(label),
                hint => text(hint),
                kind => kind,
                value => value,
                error => (!error.is_empty()).then(|| error.join("; ")),
            }
        })
        .collect()
}

/// A colour fit to go into CSS: exactly `#` and six hex digits.
fn css_colour(c: Option<&str>) -> Option<&str> {
    c.filter(|c| {
        c.len() == 7 && c.starts_with('#') && c[1..].bytes().all(|b| b.is_ascii_hexdigit())
    })
}

/// The counts as the template lists them: status, word, number.
fn counts(counts: &StatusCounts) -> Vec<Value> {
    counts
        .by_status()
        .iter()
        .map(|(status, n)| {
            let status = status.as_str();
            context! {
                status => status,
                word => text(&format!("status_{status}")),
                count => n,
            }
        })
        .collect()
}

/// What the page shows of `form` (the saved settings, or a refused post
/// with its `errors`).
struct Shown<'a> {
    form: &'a SettingsForm,
    errors: &'a [FieldError],
    notice: Option<&'static str>,
}

/// The tenant page for the saved `tenant` and its `counts`.
fn page(session: &Session, tenant: &Tenant, tally: &StatusCounts, shown: Shown<'_>) -> Page {
    let editable = session.caller.has(Scope::TenantsAdmin);
    let id = tenant.id.as_str();
    let saved = SettingsForm::of(tenant);
    let accent = css_colour(tenant.accent_color.as_deref());
    // Errors of no field on the form go above it.
    let general: Vec<String> = shown
        .errors
        .iter()
        .filter(|e| !FIELDS.iter().any(|(id, ..)| e.field == *id))
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect();
    let mut page = Page::new(
        "tenant.html",
        tenant.name.clone(),
        context! {
            section => "tenants",
            crumbs => vec![
                context! { label => text("tenants_title"), href => "/admin/tenants" },
                context! { label => &tenant.name },
            ],
            tenant => context! {
                id => id,
                name => &tenant.name,
                logo => tenant.logo_url.as_deref(),
            },
            counts => counts(tally),
            total => tally.total(),
            editable => editable,
            fields => fields(shown.form, shown.errors),
            facts => fields(&saved, &[]),
            general => general,
            invalid => !shown.errors.is_empty(),
            notice => shown.notice,
        },
    );
    page.style = accent.map(|c| format!("#preview {{ --preview-accent: {c}; }}"));
    page
}

/// `GET /admin/tenants/{tenant}`.
async fn show(
    State(state): State<AppState>,
    session: Session,
    Path(tenant): Path<String>,
    Query(query): Query<ShowQuery>,
) -> Response {
    let service = state.service();
    let found = match service.get_tenant(&session.caller, &tenant).await {
        Ok(t) => t,
        Err(e) => return error_page(&e, Some(&session)),
    };
    let tally = match service.count_invitations(&session.caller, &tenant).await {
        Ok(c) => c,
        Err(e) => return error_page(&e, Some(&session)),
    };
    let notice = (query.done.as_deref() == Some("saved")).then(|| text("tenant_settings_saved"));
    let form = SettingsForm::of(&found);
    page(&session, &found, &tally, Shown { form: &form, errors: &[], notice })
        .render(Some(&session))
}

/// `POST /admin/tenants/{tenant}`: saves the settings (`tenants:admin`),
/// or shows the form again with each refused field's error (400, nothing
/// saved).
async fn save(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    posted: Posted<SettingsForm>,
) -> Response {
    let Posted { session, form } = posted;
    let service = state.service();
    let patch = form.patch();
    let result = match patch {
        Ok(patch) => service.update_tenant(&session.caller, &tenant, patch).await,
        Err(fields) => {
            // Refuse a caller without the scope first, as the service would.
            match service.tenant_with(&session.caller, Scope::TenantsAdmin, &tenant).await {
                Ok(_) => Err(Error::Invalid(fields)),
                Err(e) => Err(e),
            }
        }
    };
    let errors = match result {
        Ok(saved) => return see_other(&format!("/admin/tenants/{}?done=saved", saved.id.as_str())),
        Err(Error::Invalid(errors)) => errors,
        Err(e) => return error_page(&e, Some(&session)),
    };
    let saved = match service.get_tenant(&session.caller, &tenant).await {
        Ok(t) => t,
        Err(e) => return error_page(&e, Some(&session)),
    };
    let tally = match service.count_invitations(&session.caller, &tenant).await {
        Ok(c) => c,
        Err(e) => return error_page(&e, Some(&session)),
    };
    page(&session, &saved, &tally, Shown { form: &form, errors: &errors, notice: None })
        .status(StatusCode::BAD_REQUEST)
        .render(Some(&session))
}
