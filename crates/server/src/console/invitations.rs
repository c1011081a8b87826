//! One tenant's invitations, for support staff: the table, newest first,
//! with its filters and pages (`GET /admin/tenants/{tenant}/invitations`),
//! and the form that invites new addresses ([`create`]).
//!
//! The page makes one list call and reads the role catalogue once; every
//! filter goes to the service as the `/v1` list receives it, so the table
//! shows exactly what the API would answer.

mod create;

use super::render::{Page, error_page, when};
use super::session::Session;
use super::strings::text;
use crate::auth::Scope;
use crate::error::{Error, FieldError};
use crate::service::invitations::{ListQuery, role_labels};
use crate::state::AppState;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use invitd_core::{Invitation, Status};
use invitd_store::{Role, Tenant};
use minijinja::{Value, context};
use time::{Date, Duration, Month, OffsetDateTime};

/// Invitations on one page of the table.
const PAGE_SIZE: u32 = 50;

/// The statuses the filter offers, as the service names them.
const STATUSES: [&str; 5] = ["pending", "accepted", "declined", "revoked", "expired"];

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/tenants/{tenant}/invitations", get(list))
        .route("/admin/tenants/{tenant}/invitations/new", get(create::form).post(create::submit))
}

/// Something wrong with what was typed into a form: the field (its `name`
/// in the form, empty for the form as a whole) and what to do about it.
#[derive(serde::Serialize)]
struct Problem {
    field: &'static str,
    message: String,
}

impl Problem {
    fn new(field: &'static str, message: impl Into<String>) -> Self {
        Problem { field, message: message.into() }
    }
}

/// The filters as typed, to fill the form again and to carry into the
/// links of other pages.
#[derive(Default, serde::Serialize)]
struct Filters {
    status: String,
    role: String,
    from: String,
    to: String,
    q: String,
    cursor: String,
}

impl Filters {
    /// Reads the query string leniently: unknown keys are ignored, and a
    /// repeated key keeps its last value.
    fn from_query(raw: Option<&str>) -> Filters {
        let pairs: Vec<(String, String)> =
            raw.and_then(|q| serde_urlencoded::from_str(q).ok()).unwrap_or_default();
        let mut f = Filters::default();
        for (key, value) in pairs {
            let value = value.trim().to_string();
            match key.as_str() {
                "status" => f.status = value,
                "role" => f.role = value,
                "from" => f.from = value,
                "to" => f.to = value,
                "q" => f.q = value,
                "cursor" => f.cursor = value,
                _ => {}
            }
        }
        if f.status == "any" {
            f.status.clear();
        }
        f
    }

    /// Whether any filter narrows the list.
    fn narrows(&self) -> bool {
        [&self.status, &self.role, &self.from, &self.to, &self.q].iter().any(|v| !v.is_empty())
    }

    /// The query string of the filters with `cursor` (the current one is
    /// left out), `?` included when there is any.
    fn query(&self, cursor: Option<&str>) -> String {
        let pairs: Vec<(&str, &str)> = [
            ("status", self.status.as_str()),
            ("role", &self.role),
            ("from", &self.from),
            ("to", &self.to),
            ("q", &self.q),
            ("cursor", cursor.unwrap_or_default()),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect();
        match serde_urlencoded::to_string(pairs) {
            Ok(q) if !q.is_empty() => format!("?{q}"),
            _ => String::new(),
        }
    }

    /// The service's query for these filters, or what is wrong with them.
    fn list_query(&self, catalogue: &[Role]) -> Result<ListQuery, Vec<Problem>> {
        let mut problems = Vec::new();
        if !self.status.is_empty() && Status::parse(&self.status).is_none() {
            problems.push(Problem::new("status", text("inv_bad_status")));
        }
        if !self.role.is_empty() && !catalogue.iter().any(|r| r.id.as_str() == self.role) {
            problems.push(Problem::new("role", text("inv_bad_role")));
        }
        let from = day(&self.from, "from", &mut problems);
        let to = day(&self.to, "to", &mut problems);
        if let (Some(from), Some(to)) = (from, to)
            && from > to
        {
            problems.push(Problem::new("to", text("inv_bad_range")));
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let at = |d: Date, shift: Duration| when(d.midnight().assume_utc() + shift);
        let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
        Ok(ListQuery {
            status: some(&self.status),
            email: some(&self.q),
            role: some(&self.role),
            // The service compares strictly, in milliseconds: one before
            // the first day's start, and the start of the day after the
            // last, so both days are included whole.
            created_after: from.map(|d| at(d, -Duration::milliseconds(1))),
            created_before: to.map(|d| at(d, Duration::days(1))),
            limit: Some(PAGE_SIZE),
            cursor: some(&self.cursor),
        })
    }
}

/// A `YYYY-MM-DD` day, if typed; a problem under `field` if it does not
/// read as one.
fn day(value: &str, field: &'static str, problems: &mut Vec<Problem>) -> Option<Date> {
    if value.is_empty() {
        return None;
    }
    let parsed = parse_day(value);
    if parsed.is_none() {
        let label = text(if field == "from" { "inv_created_from" } else { "inv_created_to" });
        problems.push(Problem::new(field, format!("{label}: {}", text("inv_bad_date"))));
    }
    parsed
}

fn parse_day(value: &str) -> Option<Date> {
    let mut parts = value.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if parts.next().is_some() || !digits(y, 4) || !digits(m, 2) || !digits(d, 2) {
        return None;
    }
    let month = Month::try_from(m.parse::<u8>().ok()?).ok()?;
    Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()
}

/// A service's complaint about a filter, in the page's words.
fn from_service(field: FieldError) -> Problem {
    if field.field == "cursor" {
        return Problem::new("", text("inv_bad_cursor"));
    }
    Problem::new("", format!("{}: {}", field.field, field.message))
}

/// `GET /admin/tenants/{tenant}/invitations`.
async fn list(
    State(state): State<AppState>,
    session: Session,
    Path(tenant): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let service = state.service();
    let tenant = match service.tenant_with(&session.caller, Scope::InvitesRead, &tenant).await {
        Ok(tenant) => tenant,
        Err(e) => return error_page(&e, Some(&session)),
    };
    let catalogue = match service.catalogue(&tenant).await {
        Ok(roles) => roles,
        Err(e) => return error_page(&e, Some(&session)),
    };
    let filters = Filters::from_query(raw.as_deref());
    let listed = match filters.list_query(&catalogue) {
        Err(problems) => Err(problems),
        Ok(query) => match service.list_invitations_in(&tenant, query).await {
            Ok(page) => Ok(page),
            Err(Error::Invalid(fields)) => Err(fields.into_iter().map(from_service).collect()),
            Err(e) => return error_page(&e, Some(&session)),
        },
    };
    let now = state.clock.now();
    let (rows, next, problems) = match listed {
        Ok((page, next)) => {
            let rows: Vec<Value> = page.iter().map(|inv| row(inv, &catalogue, now)).collect();
            let next = next.map(|cursor| filters.query(Some(&cursor)));
            (rows, next, Vec::new())
        }
        Err(problems) => (Vec::new(), None, problems),
    };
    let status = if problems.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    let first = (!filters.cursor.is_empty()).then(|| filters.query(None));
    let roles: Vec<Value> = catalogue
        .iter()
        .map(|r| context! { id => r.id.as_str(), name => role_name(r, &catalogue) })
        .collect();
    let statuses: Vec<Value> = STATUSES
        .iter()
        .map(|s| context! { id => *s, name => text(&format!("status_{s}")) })
        .collect();
    Page::new(
        "invitations.html",
        format!("{} · {}", text("invitations_title"), tenant.name),
        context! {
            section => "tenants",
            crumbs => crumbs(&tenant, None),
            tenant => context! { id => tenant.id.as_str(), name => &tenant.name },
            can_write => session.caller.has(Scope::InvitesWrite),
            filters => &filters,
            narrowed => filters.narrows(),
            statuses => statuses,
            roles => roles,
            problems => &problems,
            bad => marked(&problems),
            rows => rows,
            // The query strings of the other pages' links.
            next => next,
            first => first,
        },
    )
    .status(status)
    .render(Some(&session))
}

/// The fields the problems are about, for `aria-invalid` (`bad.<field>`).
fn marked(problems: &[Problem]) -> Value {
    Value::from_iter(problems.iter().filter(|p| !p.field.is_empty()).map(|p| (p.field, true)))
}

/// A role's name as staff read it (the starting roles in English).
fn role_name(role: &Role, catalogue: &[Role]) -> String {
    role_labels(std::slice::from_ref(&role.id), catalogue, "en").remove(0)
}

/// The breadcrumbs of the tenant's invitation pages; `last` names a page
/// below the table.
fn crumbs(tenant: &Tenant, last: Option<&str>) -> Vec<Value> {
    let id = tenant.id.as_str();
    let mut crumbs = vec![
        context! { label => text("nav_tenants"), href => "/admin/tenants" },
        context! { label => &tenant.name, href => format!("/admin/tenants/{id}") },
    ];
    match last {
        None => crumbs.push(context! { label => text("invitations_title") }),
        Some(last) => {
            crumbs.push(context! {
                label => text("invitations_title"),
                href => format!("/admin/tenants/{id}/invitations"),
            });
            crumbs.push(context! { label => last });
        }
    }
    crumbs
}

/// One row of the table.
fn row(inv: &Invitation, catalogue: &[Role], now: OffsetDateTime) -> Value {
    let delivery = inv.delivery_state.as_str();
    context! {
        id => inv.id.to_string(),
        email => &inv.email,
        roles => role_labels(&inv.roles, catalogue, "en").join(", "),
        status => inv.status_at(now).as_str(),
        delivery => delivery,
        delivery_word => text(&format!("inv_delivery_{delivery}")),
        created_at => when(inv.created_at),
        expires_at => when(inv.expires_at),
        last_sent_at => inv.last_sent_at.map(when),
    }
}
