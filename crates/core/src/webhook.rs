//! The health of a webhook endpoint: the failing streak its attempts build,
//! and when a streak has lasted long enough to disable it.

use time::{Duration, OffsetDateTime};

/// An endpoint as one delivery attempt leaves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointHealth {
    /// Since when it has seen nothing but failures; `None` once it delivers.
    pub failing_since: Option<OffsetDateTime>,
    /// Set when the endpoint must be disabled now: the reason it shows.
    pub disable: Option<String>,
}

/// What one attempt (`delivered` or not, at `now`) means for an endpoint
/// that was `enabled` and failing since `failing_since`: a delivery ends
/// the streak, a failure starts or extends it, and an enabled endpoint
/// failing for `disable_after` or longer is disabled.
pub fn after_attempt(
    delivered: bool,
    failing_since: Option<OffsetDateTime>,
    enabled: bool,
    disable_after: Duration,
    now: OffsetDateTime,
) -> EndpointHealth {
    if delivered {
        return EndpointHealth { failing_since: None, disable: None };
    }
    let since = failing_since.unwrap_or(now);
    let disable = (enabled && since + disable_after <= now).then(|| {
        format!(
            "disabled after failing since {}",
            since.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
        )
    });
    EndpointHealth { failing_since: Some(since), disable }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-01-01 12:00 UTC);

    #[test]
    fn a_long_failing_streak_disables_an_enabled_endpoint() {
        let day = Duration::days(1);
        let first = after_attempt(false, None, true, day, T0);
        assert_eq!(first.failing_since, Some(T0));
        assert_eq!(first.disable, None);
        let almost = after_attempt(false, Some(T0), true, day, T0 + Duration::hours(23));
        assert_eq!(almost.failing_since, Some(T0));
        assert_eq!(almost.disable, None);
        let done = after_attempt(false, Some(T0), true, day, T0 + day);
        assert_eq!(
            done.disable.as_deref(),
            Some("disabled after failing since 2026-01-01T12:00:00Z")
        );
        assert_eq!(after_attempt(false, Some(T0), false, day, T0 + day).disable, None);
        let healed = after_attempt(true, Some(T0), true, day, T0 + day);
        assert_eq!(healed.failing_since, None);
        assert_eq!(healed.disable, None);
    }
}
