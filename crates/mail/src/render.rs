//! Templates and translations. The built-in templates (minijinja) can be
//! replaced one by one from a folder without a rebuild; their words come
//! from Fluent files in five languages (`locales/<lang>/email.ftl`), chosen
//! by the invitation's language, then the tenant's, then English. An
//! unsupported language falls back to English, never fails.

use crate::{MailError, RenderedEmail};
use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader};
use invitd_core::Hidden;
use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, State};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::HashMap;
use std::path::PathBuf;

fluent_templates::static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "en",
        // Plain text out: no Unicode isolation marks around arguments.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// The button colour when the tenant has chosen none.
const DEFAULT_ACCENT: &str = "#1f6feb";

/// `#rrggbb`, the only colour form let into a style attribute.
fn is_hex_color(c: &str) -> bool {
    c.len() == 7 && c.starts_with('#') && c[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// The languages the emails are written in.
pub const LANGUAGES: [&str; 5] = ["en", "de", "es", "fr", "pt"];

/// What the outbox keeps for one email and the templates render from.
/// The accept link is a secret: `Debug` shows it as `***`.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct InvitationEmail {
    /// The invitee's address.
    pub to: String,
    pub tenant_name: String,
    /// Who invited, as shown (an email or account id), if known.
    pub inviter: Option<String>,
    /// The roles offered, by their names in the email's language.
    pub role_names: Vec<String>,
    /// The inviter's personal message and the invitation's purpose, shown
    /// as given (escaped in HTML).
    pub message: Option<String>,
    pub purpose: Option<String>,
    /// The wanted language tag (`de`, `pt-BR`, `ja`, …).
    pub language: String,
    /// RFC 3339.
    pub expires_at: String,
    /// The link to the accept page, with the invitation's token.
    pub accept_url: Hidden<String>,
    /// `invitation` or `resend`.
    pub kind: String,
    /// The tenant's accent colour (`#rrggbb`) and logo (an https URL), as
    /// on the accept page; absent in emails queued before branding.
    #[serde(default)]
    pub accent_color: Option<String>,
    #[serde(default)]
    pub logo_url: Option<String>,
}

/// The template files, by name; each can be replaced from the override
/// folder.
const BUILTIN: &[(&str, &str)] = &[
    ("layout.txt", include_str!("templates/layout.txt")),
    ("layout.html", include_str!("templates/layout.html")),
    ("invitation.subject", include_str!("templates/invitation.subject")),
    ("invitation.txt", include_str!("templates/invitation.txt")),
    ("invitation.html", include_str!("templates/invitation.html")),
    ("resend.subject", include_str!("templates/resend.subject")),
    ("resend.txt", include_str!("templates/resend.txt")),
    ("resend.html", include_str!("templates/resend.html")),
];

/// The language an email is written in: the wanted tag's primary subtag if
/// supported (`pt-BR` → `pt`), else English.
pub fn pick_language(wanted: &str) -> &'static str {
    let primary = wanted.split(['-', '_']).next().unwrap_or("").to_ascii_lowercase();
    LANGUAGES.into_iter().find(|l| *l == primary).unwrap_or("en")
}

fn lang_id(lang: &str) -> LanguageIdentifier {
    lang.parse().unwrap_or_else(|_| fluent_templates::langid!("en"))
}

/// One translated message.
pub fn translate(lang: &str, key: &str, args: &[(&str, String)]) -> String {
    let args: HashMap<Cow<'static, str>, FluentValue> = args
        .iter()
        .map(|(k, v)| (Cow::Owned(k.to_string()), FluentValue::from(v.clone())))
        .collect();
    LOCALES
        .try_lookup_with_args(&lang_id(lang), key, &args)
        .or_else(|| LOCALES.try_lookup_with_args(&lang_id("en"), key, &args))
        .unwrap_or_else(|| key.to_string())
}

/// An expiry date as the recipient's language writes it (always UTC).
pub fn format_expiry(lang: &str, at: time::OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    let month = translate(lang, &format!("month-{}", u8::from(at.month())), &[]);
    translate(
        lang,
        "expiry-date",
        &[
            ("day", at.day().to_string()),
            ("month", month),
            ("year", at.year().to_string()),
            ("time", format!("{:02}:{:02}", at.hour(), at.minute())),
        ],
    )
}

/// The minijinja function `t(key, **args)`: the message in the email's
/// language (the context variable `lang`).
fn t(state: &State, key: &str, kwargs: Kwargs) -> Result<String, minijinja::Error> {
    let lang = state
        .lookup("lang")
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "en".into());
    let mut args = Vec::new();
    for name in kwargs.args() {
        let value: Value = kwargs.get(name)?;
        args.push((
            name,
            if value.is_none() || value.is_undefined() { String::new() } else { value.to_string() },
        ));
    }
    kwargs.assert_all_used()?;
    Ok(translate(&lang, key, &args))
}

/// Escapes text for an HTML attribute or text node, leaving `/` alone so
/// links stay readable (the emails, the accept page and the console use it).
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The template set.
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    /// The built-in templates, with any file of the same name in
    /// `override_dir` taking their place.
    pub fn new(override_dir: Option<PathBuf>) -> Result<Self, MailError> {
        let mut env = Environment::new();
        env.add_function("t", t);
        for (name, builtin) in BUILTIN {
            let source = match &override_dir {
                Some(dir) if dir.join(name).is_file() => std::fs::read_to_string(dir.join(name))
                    .map_err(|e| {
                        MailError::Permanent(format!("cannot read template {name}: {e}"))
                    })?,
                _ => (*builtin).to_string(),
            };
            env.add_template_owned(*name, source)
                .map_err(|e| MailError::Permanent(format!("template {name}: {e}")))?;
        }
        let templates = Self { env };
        // Fail at start, not at the first email, if an override is broken.
        for kind in ["invitation", "resend"] {
            templates.render(
                &InvitationEmail::sample(kind),
                "invitd <a@b.example>",
                "<check@invitd>",
            )?;
        }
        Ok(templates)
    }

    /// Renders one email.
    pub fn render(
        &self,
        data: &InvitationEmail,
        from: &str,
        message_id: &str,
    ) -> Result<RenderedEmail, MailError> {
        let expires = time::OffsetDateTime::parse(
            &data.expires_at,
            &time::format_description::well_known::Rfc3339,
        )
        .map_err(|e| MailError::Permanent(format!("bad expiry in payload: {e}")))?;
        let lang = pick_language(&data.language);
        let kind = if data.kind == "resend" { "resend" } else { "invitation" };
        let ctx = minijinja::context! {
            lang => lang,
            tenant_name => &data.tenant_name,
            inviter => &data.inviter,
            roles => data.role_names.join(", "),
            message => &data.message,
            purpose => &data.purpose,
            expires => format_expiry(lang, expires),
            accept_url => Value::from_safe_string(escape_html(&data.accept_url)),
            accent => data.accent_color.as_deref().filter(|c| is_hex_color(c)).unwrap_or(DEFAULT_ACCENT),
            logo_url => data.logo_url.as_deref().filter(|u| u.starts_with("https://")).map(|u| Value::from_safe_string(escape_html(u))),
        };
        let render = |name: String| -> Result<String, MailError> {
            self.env
                .get_template(&name)
                .and_then(|t| t.render(&ctx))
                .map_err(|e| MailError::Permanent(format!("template {name}: {e}")))
        };
        Ok(RenderedEmail {
            message_id: message_id.to_string(),
            from: from.to_string(),
            to: data.to.clone(),
            subject: crate::one_line(&render(format!("{kind}.subject"))?),
            text: Hidden(render(format!("{kind}.txt"))?),
            html: Hidden(render(format!("{kind}.html"))?),
        })
    }
}

impl InvitationEmail {
    /// A complete example, for checking templates.
    pub fn sample(kind: &str) -> Self {
        Self {
            to: "someone@example.com".into(),
            tenant_name: "Example".into(),
            inviter: Some("admin@example.com".into()),
            role_names: vec!["Editor".into()],
            message: Some("Welcome".into()),
            purpose: Some("Testing".into()),
            language: "en".into(),
            expires_at: "2030-01-01T00:00:00Z".into(),
            accept_url: "https://example.com/i/token".into(),
            kind: kind.into(),
            accent_color: Some("#aa3355".into()),
            logo_url: Some("https://example.com/logo.png".into()),
        }
    }
}

#[cfg(test)]
mod tests;
