//! Records: what is written reads back, one pending invitation per
//! address, a token accepted once, refused and replaced transitions, lists.

use super::*;

contract! {
    async fn records_read_back_as_written(pg) {
        let db = database(pg).await;
        let store = open(&db).await;
        store.migrate().await.unwrap(); // idempotent
        store.ping().await.unwrap();
        let t = tenant(&*store, "acme").await;
        assert!(matches!(tenant_dup(&*store).await, Err(StoreError::Conflict(_))));
        let (created, token) = create_one(&*store, &t, "Ann@Example.com").await;
        assert!(created.number > 0);
        let read = store.get_invitation(&t, created.id).await.unwrap();
        assert_eq!(read, created);
        assert_eq!(store.get_invitation_by_number(Some(&t), created.number).await.unwrap(), created);
        assert_eq!(store.get_invitation_by_number(None, created.number).await.unwrap(), created);
        assert!(matches!(store.find_by_token(&token.hash()).await.unwrap(), TokenMatch::Current(i) if i.id == created.id));
        assert!(matches!(store.find_by_token(&Secret::generate("").hash()).await.unwrap(), TokenMatch::Unknown));
        let other = tenant(&*store, "globex").await;
        assert!(matches!(store.get_invitation(&other, created.id).await, Err(StoreError::NotFound)));
        let events = store.list_invitation_events(&t, created.id).await.unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event_type, "invitation.created");
        assert_eq!(events[0].invitation_id, Some(created.id));
        assert_eq!(events[0].actor, Actor::Operator);
    }
}

async fn tenant_dup(store: &dyn Store) -> Result<(), StoreError> {
    let t = store.get_tenant(&TenantId::parse("acme").unwrap()).await.unwrap();
    store.create_tenant(&t, &[], &operator()).await
}

contract! {
    async fn one_pending_invitation_per_address_even_across_processes(pg) {
        let (_db, a, b, t) = two_processes(pg).await;
        let mut tasks = Vec::new();
        for store in [a.clone(), b.clone(), a.clone(), b.clone()] {
            let t = t.clone();
            tasks.push(tokio::spawn(async move {
                let (item, _) = new_invitation(&t, "race@example.com", now());
                store.create_invitations(vec![item], Quota::default(), now(), &operator()).await.unwrap().remove(0)
            }));
        }
        let mut created = 0;
        for task in tasks {
            if let CreateOutcome::Created(_) = task.await.unwrap() {
                created += 1;
            }
        }
        assert_eq!(created, 1);
        // A pending invitation past its expiry gives its place up.
        let (old, _) = new_invitation(&t, "old@example.com", now() - Duration::days(8));
        a.create_invitations(vec![old], Quota::default(), now() - Duration::days(8), &operator()).await.unwrap();
        let (again, _) = new_invitation(&t, "old@example.com", now());
        assert!(matches!(a.create_invitations(vec![again], Quota::default(), now(), &operator()).await.unwrap().remove(0), CreateOutcome::Created(_)));
        let expired = InvitationFilter { status: Some(Status::Expired), limit: 10, ..Default::default() };
        assert_eq!(b.list_invitations(&t, &expired, now()).await.unwrap().len(), 1);
    }
}

contract! {
    async fn a_token_is_accepted_once_across_processes(pg) {
        let (_db, a, b, t) = two_processes(pg).await;
        let (_, token) = create_one(&*a, &t, "ann@example.com").await;
        let mut tasks = Vec::new();
        for (i, store) in [a.clone(), b.clone(), a.clone(), b.clone(), a.clone(), b.clone()].into_iter().enumerate() {
            let hash = token.hash();
            tasks.push(tokio::spawn(async move { store.transition(Target::Token(hash), accept(&format!("u{i}")), &operator()).await }));
        }
        let mut ok = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(inv) => {
                    assert_eq!(inv.status, Status::Accepted);
                    ok += 1;
                }
                Err(StoreError::Lifecycle(LifecycleError::AlreadyAccepted)) => {}
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(ok, 1);
    }
}

contract! {
    async fn a_refused_transition_writes_nothing(pg) {
        let (_db, store, t) = one_process(pg).await;
        let (inv, _) = create_one(&*store, &t, "ann@example.com").await;
        let refuse: invitd_store::Decide = Box::new(|_| Err(LifecycleError::Revoked));
        assert!(matches!(store.transition(Target::Id { tenant: t.clone(), id: inv.id }, refuse, &operator()).await, Err(StoreError::Lifecycle(LifecycleError::Revoked))));
        assert_eq!(store.get_invitation(&t, inv.id).await.unwrap(), inv);
        assert_eq!(store.list_invitation_events(&t, inv.id).await.unwrap().len(), 1);
        let missing = Target::Id { tenant: t.clone(), id: Uuid::now_v7() };
        assert!(matches!(store.transition(missing, accept("x"), &operator()).await, Err(StoreError::NotFound)));
    }
}

contract! {
    async fn a_replaced_token_is_recognized_and_its_email_dropped(pg) {
        let (_db, store, t) = one_process(pg).await;
        let (inv, old) = create_one(&*store, &t, "ann@example.com").await;
        let new = Secret::generate("");
        let new_hash = new.hash();
        let decide: invitd_store::Decide = Box::new(move |current: &Invitation| {
            let at = now() + Duration::minutes(5);
            let policy = invitd_core::ResendPolicy { cooldown: Duration::seconds(60), max_resends: 5, window: Duration::days(1), lifetime: Duration::days(7) };
            Ok(Transition {
                updated: current.resend(at, &policy, new_hash)?,
                at,
                event: EventType::InvitationResent,
                event_data: serde_json::json!({}),
                email: Some(OutboxEmail { kind: "resend".into(), payload: serde_json::json!({"n": 2}).into() }),
            })
        });
        store.transition(Target::Id { tenant: t.clone(), id: inv.id }, decide, &operator()).await.unwrap();
        assert!(matches!(store.find_by_token(&old.hash()).await.unwrap(), TokenMatch::Replaced(i) if i.id == inv.id));
        assert!(matches!(store.find_by_token(&new.hash()).await.unwrap(), TokenMatch::Current(_)));
        let due = store.claim_outbox(now() + Duration::hours(1), Duration::minutes(2), 10).await.unwrap();
        assert_eq!(due.len(), 1, "only the email with the live link");
        assert_eq!(due[0].kind, "resend");
    }
}

contract! {
    async fn lists_filter_and_page(pg) {
        let (_db, store, t) = one_process(pg).await;
        let mut numbers = Vec::new();
        for i in 0..5 {
            numbers.push(create_one(&*store, &t, &format!("p{i}@example.com")).await.0.number);
        }
        let page = store.list_invitations(&t, &InvitationFilter { limit: 2, ..Default::default() }, now()).await.unwrap();
        assert_eq!(page.iter().map(|i| i.number).collect::<Vec<_>>(), vec![numbers[4], numbers[3]]);
        let next = store.list_invitations(&t, &InvitationFilter { limit: 2, before_number: Some(numbers[3]), ..Default::default() }, now()).await.unwrap();
        assert_eq!(next[0].number, numbers[2]);
        let by_role = InvitationFilter { role: Some(RoleId::parse("viewer").unwrap()), limit: 10, ..Default::default() };
        assert_eq!(store.list_invitations(&t, &by_role, now()).await.unwrap().len(), 5);
        let no_role = InvitationFilter { role: Some(RoleId::parse("owner").unwrap()), limit: 10, ..Default::default() };
        assert!(store.list_invitations(&t, &no_role, now()).await.unwrap().is_empty());
        let by_email = InvitationFilter { email_normalized: Some("p2@example.com".into()), limit: 10, ..Default::default() };
        assert_eq!(store.list_invitations(&t, &by_email, now()).await.unwrap().len(), 1);
        let pending_later = InvitationFilter { status: Some(Status::Pending), limit: 10, ..Default::default() };
        assert!(store.list_invitations(&t, &pending_later, now() + Duration::days(8)).await.unwrap().is_empty());
    }
}
