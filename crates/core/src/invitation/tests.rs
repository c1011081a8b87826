//! Table-driven tests of the lifecycle with a fixed clock.

use super::*;
use crate::clock::{Clock, FixedClock};
use crate::event::EventType;
use crate::secret::Secret;
use time::macros::datetime;

const T0: OffsetDateTime = datetime!(2026-01-01 12:00 UTC);

fn policy() -> ResendPolicy {
    ResendPolicy {
        cooldown: Duration::minutes(1),
        max_resends: 3,
        window: Duration::hours(24),
        lifetime: Duration::days(7),
    }
}

fn invitation(status: Status) -> Invitation {
    let draft = Draft {
        tenant_id: TenantId::parse("acme").unwrap(),
        roles: vec![RoleId::parse("editor").unwrap()],
        location_ids: vec![],
        message: None,
        purpose: None,
        language: None,
        metadata: serde_json::json!({}),
        inviter_account_id: None,
        inviter_email: None,
        lifetime: Duration::days(7),
    };
    let email = EmailAddress::parse("Ann@example.com").unwrap();
    Invitation {
        status,
        ..Invitation::new_pending(&draft, &email, Secret::generate("").hash(), T0)
    }
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Accept,
    Decline,
    Revoke,
    Resend,
}

fn apply(op: Op, inv: &Invitation, now: OffsetDateTime) -> Result<Invitation, LifecycleError> {
    match op {
        Op::Accept => inv.accept(now, Some("acct-1".into())),
        Op::Decline => inv.decline(now),
        Op::Revoke => inv.revoke(now),
        Op::Resend => inv.resend(now, &policy(), Secret::generate("").hash()),
    }
}

#[test]
fn transitions_table() {
    use LifecycleError::*;
    let fresh = T0 + Duration::hours(1);
    let late = T0 + Duration::days(8);
    // (stored status, time, operation, expected status or error)
    let table: Vec<(Status, OffsetDateTime, Op, Result<Status, LifecycleError>)> = vec![
        (Status::Pending, fresh, Op::Accept, Ok(Status::Accepted)),
        (Status::Pending, fresh, Op::Decline, Ok(Status::Declined)),
        (Status::Pending, fresh, Op::Revoke, Ok(Status::Revoked)),
        (Status::Pending, fresh, Op::Resend, Ok(Status::Pending)),
        // Past expiry, even before the sweep recorded it.
        (Status::Pending, late, Op::Accept, Err(Expired)),
        (Status::Pending, late, Op::Decline, Err(Expired)),
        (Status::Pending, late, Op::Revoke, Ok(Status::Revoked)),
        (Status::Pending, late, Op::Resend, Ok(Status::Pending)),
        (Status::Expired, fresh, Op::Accept, Err(Expired)),
        (Status::Expired, fresh, Op::Revoke, Ok(Status::Revoked)),
        (Status::Expired, fresh, Op::Resend, Ok(Status::Pending)),
        (Status::Accepted, fresh, Op::Accept, Err(AlreadyAccepted)),
        (Status::Accepted, fresh, Op::Decline, Err(AlreadyAccepted)),
        (Status::Accepted, fresh, Op::Revoke, Err(AlreadyAccepted)),
        (Status::Accepted, fresh, Op::Resend, Err(AlreadyAccepted)),
        (Status::Declined, fresh, Op::Accept, Err(AlreadyDeclined)),
        (Status::Declined, fresh, Op::Resend, Err(AlreadyDeclined)),
        (Status::Declined, fresh, Op::Revoke, Err(AlreadyDeclined)),
        (Status::Revoked, fresh, Op::Accept, Err(Revoked)),
        (Status::Revoked, fresh, Op::Decline, Err(Revoked)),
        (Status::Revoked, fresh, Op::Resend, Err(Revoked)),
        (Status::Revoked, fresh, Op::Revoke, Err(Revoked)),
    ];
    for (stored, now, op, want) in table {
        let got = apply(op, &invitation(stored), now).map(|i| i.status);
        assert_eq!(got, want, "{stored:?} {op:?} at {now}");
    }
}

#[test]
fn status_reads_expired_at_the_instant_of_expiry() {
    let inv = invitation(Status::Pending);
    assert_eq!(inv.status_at(inv.expires_at - Duration::milliseconds(1)), Status::Pending);
    assert_eq!(inv.status_at(inv.expires_at), Status::Expired);
    assert!(inv.expire(inv.expires_at - Duration::milliseconds(1)).is_none());
    assert_eq!(inv.expire(inv.expires_at).map(|i| i.status), Some(Status::Expired));
}

#[test]
fn accept_records_who_and_when() {
    let clock = FixedClock::new(T0 + Duration::hours(2));
    let inv = invitation(Status::Pending).accept(clock.now(), Some("acct-9".into())).unwrap();
    assert_eq!(inv.accepted_at, Some(clock.now()));
    assert_eq!(inv.accepted_by.as_deref(), Some("acct-9"));
}

#[test]
fn resend_mints_extends_and_counts() {
    let clock = FixedClock::new(T0 + Duration::days(9));
    let old = invitation(Status::Expired);
    let token = Secret::generate("").hash();
    let new = old.resend(clock.now(), &policy(), token).unwrap();
    assert_eq!(new.status, Status::Pending);
    assert!(new.token_hash.matches(&token));
    assert!(!new.token_hash.matches(&old.token_hash));
    assert_eq!(new.expires_at, clock.now() + Duration::days(7));
    assert_eq!(new.resend_count, 1);
    assert_eq!(new.last_sent_at, Some(clock.now()));
    assert_eq!(new.delivery_state, DeliveryState::Queued);
}

#[test]
fn resend_cooldown_and_window_limit() {
    let clock = FixedClock::new(T0 + Duration::seconds(30));
    let mut inv = invitation(Status::Pending);
    // Inside the cooldown after creation: 30 s left.
    assert_eq!(
        apply(Op::Resend, &inv, clock.now()),
        Err(LifecycleError::ResendCooldown { retry_after_secs: 30 })
    );
    for _ in 0..3 {
        clock.advance(Duration::minutes(1));
        inv = apply(Op::Resend, &inv, clock.now()).unwrap();
    }
    clock.advance(Duration::minutes(1));
    let window_end = inv.resend_window_start.unwrap() + Duration::hours(24);
    let expected = (window_end - clock.now()).whole_seconds() as u64;
    assert_eq!(
        apply(Op::Resend, &inv, clock.now()),
        Err(LifecycleError::ResendLimit { retry_after_secs: expected })
    );
    // A new window opens after 24 hours.
    clock.set(window_end);
    let again = apply(Op::Resend, &inv, clock.now()).unwrap();
    assert_eq!(again.resend_window_count, 1);
    assert_eq!(again.resend_count, 4);
}

#[test]
fn open_while_pending_or_expired() {
    let late = T0 + Duration::days(8);
    for (stored, open) in [
        (Status::Pending, true),
        (Status::Expired, true),
        (Status::Accepted, false),
        (Status::Declined, false),
        (Status::Revoked, false),
    ] {
        assert_eq!(invitation(stored).is_open_at(T0), open, "{stored:?}");
        assert_eq!(invitation(stored).is_open_at(late), open, "{stored:?} late");
    }
}

#[test]
fn language_falls_back_to_the_tenant_then_english() {
    let de = crate::ids::Language::parse("de").unwrap();
    let mut inv = invitation(Status::Pending);
    assert_eq!(inv.language_or(None), "en");
    assert_eq!(inv.language_or(Some(&de)), "de");
    inv.language = Some("pt-BR".into());
    assert_eq!(inv.language_or(Some(&de)), "pt-BR");
}

#[test]
fn delivery_attempts_are_counted_and_the_send_time_kept() {
    let at = T0 + Duration::minutes(5);
    let inv = invitation(Status::Pending);
    let retry = inv.record_delivery(DeliveryResult::WillRetry { error: "421" }, at);
    assert_eq!(retry.delivery_state, DeliveryState::Queued);
    assert_eq!(retry.delivery_attempts, 1);
    assert_eq!(retry.delivery_last_error.as_deref(), Some("421"));
    assert_eq!(retry.delivery_sent_at, None);
    let sent = retry.record_delivery(DeliveryResult::Sent, at + Duration::minutes(1));
    assert_eq!(sent.delivery_state, DeliveryState::Sent);
    assert_eq!(sent.delivery_attempts, 2);
    assert_eq!(sent.delivery_last_error, None);
    assert_eq!(sent.delivery_sent_at, Some(at + Duration::minutes(1)));
    let failed = sent.record_delivery(DeliveryResult::Failed { error: "550" }, at);
    assert_eq!(failed.delivery_state, DeliveryState::Failed);
    assert_eq!(failed.delivery_sent_at, sent.delivery_sent_at);
    assert_eq!(failed.status, Status::Pending);
    assert_eq!(DeliveryResult::Sent.event(), Some(EventType::InvitationSent));
    assert_eq!(DeliveryResult::WillRetry { error: "" }.event(), None);
}

#[test]
fn an_invitation_without_email_has_no_cooldown_but_counts_resends() {
    let inv = invitation(Status::Pending).without_email();
    assert_eq!(inv.delivery_state, DeliveryState::NotSent);
    assert_eq!(inv.last_sent_at, None);
    // Never emailed: an emailed resend need not wait out a cooldown.
    let soon = T0 + Duration::seconds(1);
    let sent = inv.resend(soon, &policy(), Secret::generate("").hash()).unwrap();
    assert_eq!(sent.delivery_state, DeliveryState::Queued);
    assert_eq!(sent.last_sent_at, Some(soon));
    // A resend without email skips the cooldown, keeps the last send's
    // time, and counts towards the window's maximum.
    let mut current = sent;
    for n in 0..3 {
        let at = soon + Duration::seconds(n + 1);
        if n < 2 {
            current = current.resend_unsent(at, &policy(), Secret::generate("").hash()).unwrap();
            assert_eq!(current.delivery_state, DeliveryState::NotSent);
            assert_eq!(current.last_sent_at, Some(soon));
        } else {
            let refused = current.resend_unsent(at, &policy(), Secret::generate("").hash());
            assert!(matches!(refused, Err(LifecycleError::ResendLimit { .. })), "{refused:?}");
        }
    }
    assert_eq!(current.resend_count, 3);
}

#[test]
fn the_invited_address_matches_normalized_and_shows_masked() {
    let inv = invitation(Status::Pending);
    assert!(inv.is_for(&EmailAddress::parse(" ANN@Example.com ").unwrap()));
    assert!(!inv.is_for(&EmailAddress::parse("bob@example.com").unwrap()));
    assert_eq!(inv.masked_email(), "a***@example.com");
}

#[test]
fn change_sets_only_what_it_names_and_only_while_pending() {
    let inv = invitation(Status::Pending);
    let now = T0 + Duration::hours(1);
    let c = Changes {
        roles: Some(vec![RoleId::parse("admin").unwrap()]),
        message: Some(Some("hi".into())),
        ..Changes::default()
    };
    let changed = inv.change(now, &c).unwrap();
    assert_eq!(changed.roles, vec![RoleId::parse("admin").unwrap()]);
    assert_eq!(changed.message.as_deref(), Some("hi"));
    assert_eq!(
        (changed.metadata.clone(), changed.expires_at),
        (inv.metadata.clone(), inv.expires_at)
    );
    assert!(changed.token_hash.matches(&inv.token_hash));
    let cleared = changed.change(now, &Changes { message: Some(None), ..Changes::default() });
    assert_eq!(cleared.unwrap().message, None);
    use LifecycleError::*;
    for (stored, at, want) in [
        (Status::Pending, T0 + Duration::days(8), Expired),
        (Status::Expired, now, Expired),
        (Status::Accepted, now, AlreadyAccepted),
        (Status::Declined, now, AlreadyDeclined),
        (Status::Revoked, now, Revoked),
    ] {
        assert_eq!(invitation(stored).change(at, &c), Err(want), "{stored:?}");
    }
}

#[test]
fn the_same_roles_in_another_order_are_no_change() {
    let role = |r: &str| RoleId::parse(r).unwrap();
    let inv =
        Invitation { roles: vec![role("editor"), role("admin")], ..invitation(Status::Pending) };
    let now = T0 + Duration::hours(1);
    let c = Changes { roles: Some(vec![role("admin"), role("editor")]), ..Changes::default() };
    assert_eq!(inv.change(now, &c).unwrap(), inv);
    let c = Changes { roles: Some(vec![role("admin")]), ..Changes::default() };
    assert_eq!(inv.change(now, &c).unwrap().roles, vec![role("admin")]);
}
