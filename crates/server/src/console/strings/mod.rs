//! Every word the console shows, in one place, so a translation is one
//! file. Templates read them as `t.<key>`; handlers through [`text`].
//! Sections belong to the pages that use them.

mod en;

pub use en::EN;

/// The text of `key`; a missing one is logged and shows as `?`, so a gap
/// shows on the page instead of breaking it.
pub fn text(key: &str) -> &'static str {
    lookup(key).unwrap_or_else(|| {
        tracing::warn!(key, "console string missing");
        "?"
    })
}

/// The text of `key`, or `fallback` where there is none by design (a code
/// from elsewhere shown as it is when it has no words of its own).
pub fn text_or<'a>(key: &str, fallback: &'a str) -> &'a str {
    lookup(key).unwrap_or(fallback)
}

fn lookup(key: &str) -> Option<&'static str> {
    EN.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}
