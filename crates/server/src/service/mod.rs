//! The domain operations that every API face calls: validation, the
//! lifecycle decision, the store write. A face translates its request into
//! these calls and their results back into its own shape; no face holds a
//! rule of its own.
//!
//! One naming rule: `x(caller, …)` checks the caller's scopes and tenants,
//! then calls `x_in(…, audit)`, which does the work with no authorization
//! (for a caller already checked, the workers, or the operator at the
//! command line).

pub mod address;
mod answers;
pub mod bulk;
pub mod change;
mod invitation_input;
pub mod invitations;
pub mod keys;
pub mod lifecycle;
pub mod quotas;
pub mod redirects;
mod tenant_input;
pub mod tenants;
pub mod webhooks;

use crate::state::AppState;

/// The operations, over the server's state.
#[derive(Clone)]
pub struct Service {
    pub state: AppState,
}

impl Service {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }

    fn now(&self) -> time::OffsetDateTime {
        self.state.clock.now()
    }
}

/// Checks an optional free text: length bound, and no control characters
/// other than line breaks and tabs.
pub(crate) fn check_text(
    field: &str,
    value: Option<String>,
    max_chars: usize,
) -> Result<Option<String>, crate::error::Error> {
    let Some(value) = value else { return Ok(None) };
    if value.chars().count() > max_chars {
        return Err(crate::error::Error::invalid(
            field,
            format!("must be at most {max_chars} characters"),
        ));
    }
    if value.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
        return Err(crate::error::Error::invalid(field, "must not contain control characters"));
    }
    Ok(if value.trim().is_empty() { None } else { Some(value) })
}

/// An address in a request's field, or 400 naming the field.
pub(crate) fn email_field(
    field: &str,
    value: &str,
) -> Result<invitd_core::EmailAddress, crate::error::Error> {
    invitd_core::EmailAddress::parse(value)
        .map_err(|e| crate::error::Error::invalid(field, e.reason))
}

/// Why an item of a request's address list is refused: a code and a
/// message.
pub(crate) type Refusal = (&'static str, String);

/// A request's list of addresses, each in its place: parsed, or the code
/// and message of why not (`invalid_email`, or `duplicate_in_request` for
/// one an earlier item already named, compared normalized).
pub(crate) fn each_address(
    raw: Vec<String>,
) -> Vec<(String, Result<invitd_core::EmailAddress, Refusal>)> {
    let mut seen = std::collections::HashSet::new();
    raw.into_iter()
        .map(|raw| {
            let parsed = match invitd_core::EmailAddress::parse(&raw) {
                Err(e) => Err(("invalid_email", e.reason)),
                Ok(a) if !seen.insert(a.normalized().to_string()) => Err((
                    "duplicate_in_request",
                    "this address appears earlier in the request".to_string(),
                )),
                Ok(a) => Ok(a),
            };
            (raw, parsed)
        })
        .collect()
}

/// A date-time parameter in RFC 3339, or 400 naming the field.
pub(crate) fn parse_time(
    field: &str,
    s: &str,
) -> Result<time::OffsetDateTime, crate::error::Error> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(|_| crate::error::Error::invalid(field, "must be an RFC 3339 date-time"))
}

/// Turns the store's `NotFound` into 404 naming `what`; other errors pass.
pub(crate) fn not_found_as(
    what: &'static str,
) -> impl Fn(invitd_store::StoreError) -> crate::error::Error {
    move |e| match e {
        invitd_store::StoreError::NotFound => crate::error::Error::NotFound(what),
        other => other.into(),
    }
}
