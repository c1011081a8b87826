//! Where the accept page sends an invitee: an invitation's own landing page
//! (`redirect_url`), allowed only on the tenant's redirect origins, else the
//! tenant's `accept_redirect_url`. No origin outside the tenant's list is
//! ever reached, so the page is no open redirect.

use crate::error::Error;
use invitd_core::Invitation;
use invitd_store::Tenant;
use reqwest::Url;

/// Most origins a tenant may allow.
pub const MAX_REDIRECT_ORIGINS: usize = 50;

/// The origin of an http(s) URL as browsers compare it
/// (`https://app.example.com`, default port left out, host lower-cased).
pub fn origin(url: &str) -> Option<String> {
    let url = Url::parse(url).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return None;
    }
    Some(url.origin().ascii_serialization())
}

/// Checks the tenant setting `allowed_redirect_origins`: at most
/// [`MAX_REDIRECT_ORIGINS`] http(s) origins (a trailing `/` is allowed),
/// each without path, query, fragment or credentials. Answers them in their
/// normal form, without repeats.
pub fn check_origins(list: Vec<String>) -> Result<Vec<String>, Error> {
    const FIELD: &str = "allowed_redirect_origins";
    if list.len() > MAX_REDIRECT_ORIGINS {
        return Err(Error::invalid(FIELD, format!("at most {MAX_REDIRECT_ORIGINS} origins")));
    }
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for item in list {
        let bare = item.strip_suffix('/').unwrap_or(&item);
        let parsed = Url::parse(&item).ok().filter(|u| {
            item.chars().count() <= 2048
                && u.username().is_empty()
                && u.password().is_none()
                && u.query().is_none()
                && u.fragment().is_none()
                && u.path() == "/"
                && !bare.ends_with('/')
                && !item.chars().any(|c| c.is_whitespace() || c.is_control())
        });
        let Some(origin) = parsed.and_then(|_| origin(&item)) else {
            return Err(Error::invalid(
                FIELD,
                format!("`{item}` is not an origin like https://app.example.com"),
            ));
        };
        if !out.contains(&origin) {
            out.push(origin);
        }
    }
    Ok(out)
}

/// Whether the accept page may send an invitee of `tenant` to `url`: its
/// origin is on the tenant's list or is the origin of the tenant's own
/// redirect URL.
pub fn allowed(tenant: &Tenant, url: &str) -> bool {
    let Some(wanted) = origin(url) else { return false };
    tenant.allowed_redirect_origins.contains(&wanted)
        || tenant.accept_redirect_url.as_deref().and_then(origin).as_deref() == Some(&wanted)
}

/// Checks an invitation's `redirect_url` against the tenant: an http(s)
/// URL of at most 2048 characters on an allowed origin, or 400.
pub fn check_redirect(tenant: &Tenant, url: &str) -> Result<String, Error> {
    const FIELD: &str = "redirect_url";
    let well_formed = url.chars().count() <= 2048
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
        && origin(url).is_some();
    if !well_formed {
        return Err(Error::invalid(FIELD, "must be an http(s) URL of at most 2048 characters"));
    }
    if !allowed(tenant, url) {
        return Err(Error::invalid(
            FIELD,
            "its origin is not among the tenant's allowed_redirect_origins (nor the origin of its accept_redirect_url)",
        ));
    }
    Ok(url.to_string())
}

/// Where the accept page sends the invitee after accepting: the
/// invitation's own `redirect_url` while its origin is still allowed, else
/// the tenant's `accept_redirect_url`.
pub fn redirect_for<'a>(inv: &'a Invitation, tenant: &'a Tenant) -> Option<&'a str> {
    inv.redirect_url
        .as_deref()
        .filter(|url| allowed(tenant, url))
        .or(tenant.accept_redirect_url.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_normalized_and_checked() {
        let ok = check_origins(vec![
            "https://App.Example.com".into(),
            "https://app.example.com:443/".into(),
            "http://localhost:3000".into(),
        ])
        .unwrap();
        assert_eq!(ok, ["https://app.example.com", "http://localhost:3000"]);
        for bad in [
            "app.example.com",
            "https://app.example.com/path",
            "https://app.example.com?x=1",
            "https://u:p@app.example.com",
            "ftp://app.example.com",
            "https://app.example.com//",
        ] {
            assert!(check_origins(vec![bad.into()]).is_err(), "{bad}");
        }
    }

    #[test]
    fn origin_compares_as_browsers_do() {
        assert_eq!(
            origin("https://A.example.com:443/x?y").as_deref(),
            Some("https://a.example.com")
        );
        assert_eq!(
            origin("http://a.example.com:8080/").as_deref(),
            Some("http://a.example.com:8080")
        );
        assert_eq!(origin("javascript:alert(1)"), None);
        assert_eq!(
            origin("https://evil.example@good.example.com/").as_deref(),
            Some("https://good.example.com")
        );
    }
}
