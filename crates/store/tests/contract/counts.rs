//! Counting a tenant's invitations by effective status.

use super::*;

/// A transition that applies `change` to the current record now.
fn change(
    event: EventType,
    change: fn(&Invitation, OffsetDateTime) -> Result<Invitation, LifecycleError>,
) -> invitd_store::Decide {
    Box::new(move |current: &Invitation| {
        let at = now();
        Ok(Transition {
            updated: change(current, at)?,
            at,
            event,
            event_data: serde_json::json!({}),
            email: None,
        })
    })
}

contract! {
    async fn invitations_count_by_effective_status(pg) {
        let (_db, store, t) = one_process(pg).await;
        let other = tenant(&*store, "globex").await;
        assert_eq!(store.count_by_status(&t, now()).await.unwrap(), invitd_store::StatusCounts::default());
        let mut made = Vec::new();
        for i in 0..6 {
            made.push(create_one(&*store, &t, &format!("c{i}@example.com")).await.0);
        }
        create_one(&*store, &other, "elsewhere@example.com").await;
        let target = |inv: &Invitation| Target::Id { tenant: t.clone(), id: inv.id };
        store.transition(target(&made[0]), accept("u1"), &operator()).await.unwrap();
        store.transition(target(&made[1]), change(EventType::InvitationDeclined, |i, at| i.decline(at)), &operator()).await.unwrap();
        store.transition(target(&made[2]), change(EventType::InvitationRevoked, |i, at| i.revoke(at)), &operator()).await.unwrap();
        // One pending invitation already past its expiry, not yet swept.
        let (old, _) = new_invitation(&t, "old@example.com", now() - Duration::days(8));
        store.create_invitations(vec![old], Quota::default(), now() - Duration::days(8), &operator()).await.unwrap();
        let counts = store.count_by_status(&t, now()).await.unwrap();
        assert_eq!(
            counts,
            invitd_store::StatusCounts { pending: 3, accepted: 1, declined: 1, revoked: 1, expired: 1 }
        );
        assert_eq!(counts.total(), 7);
        // The same counts as the lists filtered by each status.
        for (status, n) in counts.by_status() {
            let filter = InvitationFilter { status: Some(status), limit: 100, ..Default::default() };
            assert_eq!(store.list_invitations(&t, &filter, now()).await.unwrap().len() as u64, n, "{status:?}");
        }
        // Later, the pending ones have expired too; a swept one counts the same.
        store.expire_due(now(), 100).await.unwrap();
        let later = store.count_by_status(&t, now() + Duration::days(8)).await.unwrap();
        assert_eq!((later.pending, later.expired), (0, 4));
        assert_eq!(store.count_by_status(&other, now()).await.unwrap().pending, 1);
    }
}
