//! Templates: the built-in ones, overridable from a folder without a
//! rebuild (`<name>` files such as `invitation.html`).

use crate::{MailError, RenderedEmail};
use minijinja::Environment;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// What the outbox keeps for one email and the templates render from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvitationEmail {
    pub to: String,
    pub tenant_name: String,
    /// Who invited, as shown (an email or account id), if known.
    pub inviter: Option<String>,
    pub role_names: Vec<String>,
    pub message: Option<String>,
    pub purpose: Option<String>,
    pub language: String,
    /// RFC 3339.
    pub expires_at: String,
    pub accept_url: String,
    /// `invitation` or `resend`.
    pub kind: String,
}

const BUILTIN: &[(&str, &str)] = &[
    (
        "invitation.subject",
        include_str!("templates/invitation.subject"),
    ),
    ("invitation.txt", include_str!("templates/invitation.txt")),
    ("invitation.html", include_str!("templates/invitation.html")),
];

/// The template set.
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    /// The built-in templates, with any file of the same name in
    /// `override_dir` taking their place.
    pub fn new(override_dir: Option<PathBuf>) -> Result<Self, MailError> {
        let mut env = Environment::new();
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
        Ok(Self { env })
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
        let format = time::macros::format_description!(
            "[weekday], [month repr:long] [day padding:none], [year] at [hour]:[minute] UTC"
        );
        let expires_text = expires
            .to_offset(time::UtcOffset::UTC)
            .format(&format)
            .unwrap_or_else(|_| data.expires_at.clone());
        let ctx = minijinja::context! {
            tenant_name => &data.tenant_name,
            inviter => &data.inviter,
            roles => data.role_names.join(", "),
            message => &data.message,
            purpose => &data.purpose,
            expires => expires_text,
            accept_url => &data.accept_url,
            is_resend => data.kind == "resend",
        };
        let render = |name: &str| -> Result<String, MailError> {
            self.env
                .get_template(name)
                .and_then(|t| t.render(&ctx))
                .map_err(|e| MailError::Permanent(format!("template {name}: {e}")))
        };
        Ok(RenderedEmail {
            message_id: message_id.to_string(),
            from: from.to_string(),
            to: data.to.clone(),
            subject: crate::one_line(&render("invitation.subject")?),
            text: render("invitation.txt")?,
            html: render("invitation.html")?,
        })
    }
}
