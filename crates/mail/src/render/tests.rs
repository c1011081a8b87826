//! Rendering in every language, escaping, fallbacks, overrides.

use super::*;

fn email(lang: &str, kind: &str) -> InvitationEmail {
    InvitationEmail {
        to: "ann@example.com".into(),
        tenant_name: "Acme & <Co>".into(),
        inviter: Some("lead@acme.test".into()),
        role_names: vec!["Editor".into(), "Admin".into()],
        message: Some("Hi <script>alert(1)</script>".into()),
        purpose: Some("Q3 \"planning\"".into()),
        language: lang.into(),
        expires_at: "2026-03-05T14:07:00Z".into(),
        accept_url: "https://invites.example.com/i/abc_DEF-123".into(),
        kind: kind.into(),
        accent_color: None,
        logo_url: None,
    }
}

/// `data` rendered by `templates`, from a fixed sender and message id.
fn render_with(templates: &Templates, data: &InvitationEmail) -> RenderedEmail {
    templates.render(data, "x <x@example.com>", "<id@x>").unwrap()
}

/// The built-in templates' email in `lang` of this `kind`.
fn render(lang: &str, kind: &str) -> RenderedEmail {
    render_with(&Templates::new(None).unwrap(), &email(lang, kind))
}

#[test]
fn every_language_has_its_words_and_date() {
    let templates = Templates::new(None).unwrap();
    let cases = [
        ("en", "lead@acme.test invited you to Acme & <Co>", "March 5, 2026 at 14:07 UTC"),
        ("de", "lead@acme.test hat Sie zu Acme & <Co> eingeladen", "5. März 2026 um 14:07 Uhr UTC"),
        (
            "es",
            "lead@acme.test te ha invitado a Acme & <Co>",
            "5 de marzo de 2026, a las 14:07 UTC",
        ),
        ("fr", "lead@acme.test vous invite à rejoindre Acme & <Co>", "5 mars 2026 à 14:07 UTC"),
        (
            "pt-BR",
            "lead@acme.test convidou você para Acme & <Co>",
            "5 de março de 2026 às 14:07 UTC",
        ),
    ];
    for (lang, subject, date) in cases {
        let r = render_with(&templates, &email(lang, "invitation"));
        assert_eq!(r.subject, subject, "{lang}");
        assert!(r.text.contains(date), "{lang}: {}", *r.text);
        assert!(r.html.contains(date), "{lang}");
        assert!(r.html.contains(&format!("lang=\"{}\"", pick_language(lang))));
        assert!(!r.text.contains('\u{2068}'), "no isolation marks");
    }
}

#[test]
fn unknown_languages_fall_back_to_english() {
    let templates = Templates::new(None).unwrap();
    for lang in ["ja", "", "xx-YY"] {
        let r = render_with(&templates, &email(lang, "invitation"));
        assert!(r.subject.contains("invited you to"), "{lang}: {}", r.subject);
    }
}

#[test]
fn user_text_is_escaped_in_html_and_links_stay_clean() {
    let r = render("en", "invitation");
    assert!(!r.html.contains("<script>"));
    assert!(r.html.contains("&lt;script&gt;"));
    assert!(r.html.contains("Acme &amp; &lt;Co&gt;"));
    assert!(r.html.contains("href=\"https://invites.example.com/i/abc_DEF-123\""));
    assert!(r.text.contains("Hi <script>alert(1)</script>"), "plain text is verbatim");
    assert!(r.text.contains("https://invites.example.com/i/abc_DEF-123"));
}

#[test]
fn the_resend_has_its_own_words() {
    let r = render("de", "resend");
    assert!(r.subject.starts_with("Erinnerung:"));
    assert!(r.text.contains("neue Ausfertigung"));
    assert!(r.html.contains("neue Ausfertigung"));
}

#[test]
fn a_folder_overrides_single_templates_and_broken_ones_fail_at_start() {
    let dir = std::env::temp_dir().join(format!("invitd-tpl-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("invitation.subject"), "Join {{ tenant_name }} now").unwrap();
    let r = render_with(&Templates::new(Some(dir.clone())).unwrap(), &email("en", "invitation"));
    assert_eq!(r.subject, "Join Acme & <Co> now");
    assert!(r.text.contains("Hello,"), "others stay built in");
    std::fs::write(dir.join("invitation.html"), "{% if %}").unwrap();
    assert!(Templates::new(Some(dir.clone())).is_err());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn subjects_cannot_carry_new_headers() {
    let mut e = email("en", "invitation");
    e.tenant_name = "Acme\r\nBcc: evil@example.com".into();
    let r = render_with(&Templates::new(None).unwrap(), &e);
    assert!(!r.subject.contains('\n') && !r.subject.contains('\r'));
    let bytes = String::from_utf8(r.to_rfc5322().unwrap()).unwrap();
    let headers = bytes.split("\r\n\r\n").next().unwrap();
    assert!(!headers.lines().any(|l| l.starts_with("Bcc:")), "{headers}");
}

#[test]
fn the_email_carries_the_tenants_branding_and_a_link_that_wraps() {
    let templates = Templates::new(None).unwrap();
    let plain = render_with(&templates, &email("en", "invitation"));
    assert!(plain.html.contains("background: #1f6feb"), "the default accent");
    assert!(!plain.html.contains("<img"), "no logo when the tenant has none");
    let mut branded = email("en", "invitation");
    branded.accent_color = Some("#AA3355".into());
    branded.logo_url = Some("https://cdn.acme.test/logo.png?v=1&x=2".into());
    let r = render_with(&templates, &branded);
    assert!(r.html.contains("background: #AA3355"), "{}", *r.html);
    assert!(
        r.html.contains(r#"<img src="https://cdn.acme.test/logo.png?v=1&amp;x=2""#),
        "{}",
        *r.html
    );
    // The written-out link may break anywhere, so it wraps on a phone.
    assert!(r.html.contains("word-break: break-all"), "{}", *r.html);
    // Only a #rrggbb colour and an https logo reach the markup.
    branded.accent_color = Some("red; background: url(x)".into());
    branded.logo_url = Some("http://plain.test/logo.png".into());
    let r = render_with(&templates, &branded);
    assert!(!r.html.contains("url(x)") && r.html.contains("background: #1f6feb"));
    assert!(!r.html.contains("plain.test"));
}
