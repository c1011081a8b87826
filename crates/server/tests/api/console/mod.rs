//! The admin console over HTTP: a small client that keeps the session
//! cookie and posts forms with their CSRF token, and the tests of each area.

mod find;
mod invitation;
mod invitations;
mod keys;
mod sessions;
mod tenant;
mod webhooks;

use crate::harness::TestApp;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

/// A page as the client got it.
pub struct Got {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub html: String,
}

impl Got {
    /// Where a redirect points.
    pub fn location(&self) -> Option<&str> {
        self.headers.get("location").and_then(|v| v.to_str().ok())
    }

    /// The value of the first `name="csrf"` field on the page.
    pub fn csrf(&self) -> String {
        hidden(&self.html, "csrf").expect("a csrf field on the page")
    }

    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(self.status.as_u16(), status, "page: {}", self.html);
        self
    }
}

/// The value of the first hidden field `name` in `html`.
pub fn hidden(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\" value=\""))?;
    let rest = &html[at + name.len() + 15..];
    Some(rest[..rest.find('"')?].to_string())
}

/// A browser without JavaScript: no redirects followed, one cookie kept.
pub struct Console<'a> {
    pub app: &'a TestApp,
    client: reqwest::Client,
    pub cookie: Option<String>,
}

impl<'a> Console<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Console { app, client, cookie: None }
    }

    /// Signs in with `key` (asserting it worked) and keeps the cookie.
    pub async fn signed_in(app: &'a TestApp, key: &str) -> Self {
        let mut console = Console::new(app);
        let got = console.sign_in(key).await;
        assert_eq!(got.status.as_u16(), 303, "sign-in: {}", got.html);
        console
    }

    /// Posts the sign-in form; keeps the cookie it sets.
    pub async fn sign_in(&mut self, key: &str) -> Got {
        let got = self.post_raw("/admin/sign-in", &[("api_key", key)]).await;
        self.keep_cookie(got)
    }

    /// Posts the sign-in form from a page of `origin`; keeps the cookie.
    pub async fn sign_in_from(&mut self, key: &str, origin: &str) -> Got {
        let body = serde_urlencoded::to_string([("api_key", key)]).expect("form");
        let req = self
            .client
            .post(format!("{}/admin/sign-in", self.app.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("origin", origin)
            .header("sec-fetch-site", "same-origin")
            .body(body);
        let got = read(req.send().await.expect("request")).await;
        self.keep_cookie(got)
    }

    fn keep_cookie(&mut self, got: Got) -> Got {
        if let Some(set) = got.headers.get("set-cookie").and_then(|v| v.to_str().ok()) {
            self.cookie = set.split(';').next().map(str::to_string);
        }
        got
    }

    pub async fn get(&self, path: &str) -> Got {
        let mut req = self.client.get(format!("{}{path}", self.app.base));
        if let Some(cookie) = &self.cookie {
            req = req.header("cookie", cookie);
        }
        read(req.send().await.expect("request")).await
    }

    /// Posts a form as it is, without adding a CSRF token.
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> Got {
        let body = serde_urlencoded::to_string(fields).expect("form");
        let mut req = self
            .client
            .post(format!("{}{path}", self.app.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(cookie) = &self.cookie {
            req = req.header("cookie", cookie);
        }
        read(req.send().await.expect("request")).await
    }

    /// Posts a form with a token, as a page of `origin` would.
    pub async fn post_with_origin(&self, path: &str, csrf: &str, origin: &str) -> Got {
        let body = serde_urlencoded::to_string([("csrf", csrf)]).expect("form");
        let mut req = self
            .client
            .post(format!("{}{path}", self.app.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("origin", origin)
            .header("sec-fetch-site", "cross-site")
            .body(body);
        if let Some(cookie) = &self.cookie {
            req = req.header("cookie", cookie);
        }
        read(req.send().await.expect("request")).await
    }

    /// Posts a form with the CSRF token of the page at `from`, as a
    /// browser would after opening that page.
    pub async fn post(&self, from: &str, path: &str, fields: &[(&str, &str)]) -> Got {
        let csrf = self.get(from).await.expect(200).csrf();
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all).await
    }
}

async fn read(resp: reqwest::Response) -> Got {
    let status = resp.status();
    let headers = resp.headers().clone();
    let html = resp.text().await.expect("body");
    Got { status, headers, html }
}
