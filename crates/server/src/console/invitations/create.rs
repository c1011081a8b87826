//! "New invitations": the form (`GET /admin/tenants/{tenant}/invitations/new`)
//! and what became of each address once it is posted, as the API answers
//! it: invited (a link to the invitation's page), or not and why.
//!
//! The accept link of a new invitation is a secret of the invitee's: the
//! page never shows it, only the link to the invitation's own page.

use super::{Problem, crumbs, role_name};
use crate::auth::Scope;
use crate::console::render::{Page, error_page, when};
use crate::console::session::{Posted, Session};
use crate::console::strings::{text, text_or};
use crate::error::Error;
use crate::service::invitations::{CreateInvitations, CreateOutput, Failure};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use invitd_core::{EmailAddress, Invitation, limits};
use invitd_store::{Role, Tenant};
use minijinja::{Value, context};

/// The form as typed, to fill it again when something is wrong.
#[derive(Default, serde::Serialize)]
struct Draft {
    emails: String,
    roles: Vec<String>,
    language: String,
    message: String,
    expires_in_days: String,
}

impl Draft {
    /// The posted fields; `roles` repeats, one field per ticked box.
    fn from_fields(fields: Vec<(String, String)>) -> Draft {
        let mut draft = Draft::default();
        for (key, value) in fields {
            match key.as_str() {
                "emails" => draft.emails = value,
                "roles" => draft.roles.push(value),
                "language" => draft.language = value.trim().to_string(),
                "message" => draft.message = value,
                "expires_in_days" => draft.expires_in_days = value.trim().to_string(),
                _ => {}
            }
        }
        draft
    }

    /// The addresses typed, one a line or separated by commas or
    /// semicolons.
    fn addresses(&self) -> Vec<String> {
        self.emails
            .split(['\n', ',', ';'])
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// The service's request, or what is wrong with the form.
    fn request(&self) -> Result<CreateInvitations, Vec<Problem>> {
        let mut problems = Vec::new();
        let emails = self.addresses();
        if emails.is_empty() {
            problems.push(Problem::new("emails", text("inv_need_addresses")));
        }
        if self.roles.is_empty() {
            problems.push(Problem::new("roles", text("inv_need_role")));
        }
        let language = match self.language.as_str() {
            "" => None,
            l if invitd_mail::LANGUAGES.contains(&l) => Some(l.to_string()),
            _ => {
                problems.push(Problem::new("language", text("inv_bad_language")));
                None
            }
        };
        let expires_in_days = match self.expires_in_days.as_str() {
            "" => None,
            days => match days.parse::<i64>() {
                Ok(d) if (1..=limits::MAX_LIFETIME_DAYS).contains(&d) => Some(d),
                _ => {
                    problems.push(Problem::new("expires_in_days", text("inv_bad_days")));
                    None
                }
            },
        };
        if !problems.is_empty() {
            return Err(problems);
        }
        let message = Some(self.message.clone()).filter(|m| !m.trim().is_empty());
        Ok(CreateInvitations {
            emails,
            roles: self.roles.clone(),
            language,
            message,
            expires_in_days,
            ..CreateInvitations::default()
        })
    }
}

/// The tenant and its roles, if the key may invite there.
async fn load(state: &AppState, session: &Session, id: &str) -> Result<(Tenant, Vec<Role>), Error> {
    let service = state.service();
    let tenant = service.tenant_with(&session.caller, Scope::InvitesWrite, id).await?;
    let catalogue = service.catalogue(&tenant).await?;
    Ok((tenant, catalogue))
}

/// `GET /admin/tenants/{tenant}/invitations/new`.
pub(super) async fn form(
    State(state): State<AppState>,
    session: Session,
    Path(tenant): Path<String>,
) -> Response {
    match load(&state, &session, &tenant).await {
        Ok((tenant, catalogue)) => {
            form_page(&tenant, &catalogue, &Draft::default(), &[], StatusCode::OK, &session)
        }
        Err(e) => error_page(&e, Some(&session)),
    }
}

/// `POST /admin/tenants/{tenant}/invitations/new`: invites the addresses,
/// then shows each one's outcome; a form that cannot be sent comes back
/// with what is wrong (400), nothing invited.
pub(super) async fn submit(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    posted: Posted<Vec<(String, String)>>,
) -> Response {
    let Posted { session, form } = posted;
    let (tenant, catalogue) = match load(&state, &session, &tenant).await {
        Ok(loaded) => loaded,
        Err(e) => return error_page(&e, Some(&session)),
    };
    let draft = Draft::from_fields(form);
    let request = match draft.request() {
        Ok(request) => request,
        Err(problems) => {
            return form_page(
                &tenant,
                &catalogue,
                &draft,
                &problems,
                StatusCode::BAD_REQUEST,
                &session,
            );
        }
    };
    let addresses = request.emails.clone();
    let refused = |problems: Vec<Problem>, status| {
        form_page(&tenant, &catalogue, &draft, &problems, status, &session)
    };
    // `load` read the tenant with the write scope checked: no second read.
    let audit = session.caller.audit();
    match state.service().create_invitations_in(tenant.clone(), request, &audit).await {
        Ok(output) => sent_page(&output, &addresses, &catalogue, &session),
        Err(Error::Invalid(fields)) => refused(
            fields
                .into_iter()
                .map(|f| {
                    Problem::new(
                        field_of(&f.field),
                        format!("{}: {}", label_of(&f.field), f.message),
                    )
                })
                .collect(),
            StatusCode::BAD_REQUEST,
        ),
        Err(e @ Error::UnknownRoles(_)) => {
            refused(vec![Problem::new("roles", e.to_string())], StatusCode::BAD_REQUEST)
        }
        Err(Error::QuotaExceeded { retry_after_secs, message }) => {
            let problem = format!("{} {message}", text("inv_quota_none"));
            let mut response =
                refused(vec![Problem::new("", problem)], StatusCode::TOO_MANY_REQUESTS);
            if let Ok(v) = HeaderValue::from_str(&retry_after_secs.max(1).to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
            response
        }
        Err(e) => error_page(&e, Some(&session)),
    }
}

/// The form field a service's complaint is about (empty: none of them).
fn field_of(field: &str) -> &'static str {
    match field {
        "emails" => "emails",
        "roles" => "roles",
        "language" => "language",
        "message" => "message",
        "expires_in_days" => "expires_in_days",
        _ => "",
    }
}

/// A field's label on the form.
fn label_of(field: &str) -> &str {
    match field {
        "emails" => text("inv_addresses"),
        "roles" => text("inv_roles"),
        "language" => text("inv_language"),
        "message" => text("inv_message"),
        "expires_in_days" => text("inv_days"),
        other => other,
    }
}

fn form_page(
    tenant: &Tenant,
    catalogue: &[Role],
    draft: &Draft,
    problems: &[Problem],
    status: StatusCode,
    session: &Session,
) -> Response {
    let roles: Vec<Value> = catalogue
        .iter()
        .map(|r| {
            context! {
                id => r.id.as_str(),
                name => role_name(r, catalogue),
                checked => draft.roles.iter().any(|c| c == r.id.as_str()),
            }
        })
        .collect();
    let languages: Vec<Value> = invitd_mail::LANGUAGES
        .iter()
        .map(|l| {
            context! { id => *l, name => text_or(&format!("inv_lang_{l}"), l) }
        })
        .collect();
    let bad = super::marked(problems);
    let id = tenant.id.as_str();
    Page::new(
        "invitations_new.html",
        format!("{} · {}", text("inv_new"), tenant.name),
        context! {
            section => "tenants",
            crumbs => crumbs(tenant, Some(text("inv_new"))),
            tenant => context! {
                id => id,
                name => &tenant.name,
                language => tenant.language.as_ref().map(|l| l.as_str().to_string()),
                lifetime_days => tenant.lifetime_days,
            },
            draft => draft,
            roles => roles,
            languages => languages,
            problems => problems,
            bad => bad,
            max_days => limits::MAX_LIFETIME_DAYS,
        },
    )
    .status(status)
    .render(Some(session))
}

/// One address's outcome: the invitation made for it, or why not.
enum Outcome<'a> {
    Invited(&'a Invitation),
    Refused(&'a Failure),
}

/// The outcomes in the order the addresses were typed: an invitation goes
/// to the first address that normalizes to it, a refusal to the address
/// it names; anything left over follows.
fn in_order<'a>(output: &'a CreateOutput, addresses: &[String]) -> Vec<(String, Outcome<'a>)> {
    let mut invited: Vec<Option<&Invitation>> =
        output.created.iter().map(|c| Some(&c.invitation)).collect();
    let mut refused: Vec<Option<&Failure>> = output.failures.iter().map(Some).collect();
    let mut rows = Vec::new();
    for address in addresses {
        let normalized = EmailAddress::parse(address).ok().map(|a| a.normalized().to_string());
        let made = invited.iter_mut().find(|i| {
            i.is_some_and(|i| normalized.as_deref() == Some(i.email_normalized.as_str()))
        });
        if let Some(inv) = made.and_then(Option::take) {
            rows.push((inv.email.clone(), Outcome::Invited(inv)));
            continue;
        }
        let failed = refused.iter_mut().find(|f| f.is_some_and(|f| f.email == *address));
        if let Some(failure) = failed.and_then(Option::take) {
            rows.push((failure.email.clone(), Outcome::Refused(failure)));
        }
    }
    rows.extend(invited.into_iter().flatten().map(|i| (i.email.clone(), Outcome::Invited(i))));
    rows.extend(refused.into_iter().flatten().map(|f| (f.email.clone(), Outcome::Refused(f))));
    rows
}

/// The outcome of each address.
fn sent_page(
    output: &CreateOutput,
    addresses: &[String],
    catalogue: &[Role],
    session: &Session,
) -> Response {
    let tenant = &output.tenant;
    let id = tenant.id.as_str();
    let rows: Vec<Value> = in_order(output, addresses)
        .into_iter()
        .map(|(email, outcome)| match outcome {
            Outcome::Invited(inv) => context! {
                email => email,
                id => inv.id.to_string(),
                expires_at => when(inv.expires_at),
            },
            Outcome::Refused(failure) => {
                let reason = text_or(&format!("inv_failure_{}", failure.code), &failure.code);
                context! {
                    email => email,
                    reason => reason,
                    message => &failure.message,
                }
            }
        })
        .collect();
    let roles = output
        .created
        .first()
        .map(|c| super::role_labels(&c.invitation.roles, catalogue, "en").join(", "));
    Page::new(
        "invitations_sent.html",
        format!("{} · {}", text("inv_sent_title"), tenant.name),
        context! {
            section => "tenants",
            crumbs => crumbs(tenant, Some(text("inv_sent_title"))),
            tenant_id => id,
            invited => output.created.len(),
            not_invited => output.failures.len(),
            roles => roles,
            rows => rows,
        },
    )
    .render(Some(session))
}
