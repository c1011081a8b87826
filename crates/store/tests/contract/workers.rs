//! Work shared by processes: the outbox each email of which goes to one
//! worker, and units that commit their writes with their answer once per key.

use super::*;

contract! {
    async fn the_outbox_hands_each_email_to_one_worker(pg) {
        let (_db, a, b, t) = two_processes(pg).await;
        let items: Vec<NewInvitation> = (0..50).map(|i| new_invitation(&t, &format!("u{i}@example.com"), now()).0).collect();
        a.create_invitations(items, Quota::default(), now(), &operator()).await.unwrap();
        let at = now();
        let mut tasks = Vec::new();
        for store in [a.clone(), b.clone(), a.clone(), b.clone()] {
            tasks.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let batch = store.claim_outbox(at, Duration::minutes(2), 7).await.unwrap();
                    if batch.is_empty() {
                        return mine;
                    }
                    mine.extend(batch.into_iter().map(|i| i.id));
                }
            }));
        }
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.unwrap());
        }
        all.sort();
        let before = all.len();
        all.dedup();
        assert_eq!(before, 50, "every email claimed");
        assert_eq!(all.len(), 50, "no email claimed twice");
        // Leased rows come back when the lease runs out.
        let again = a.claim_outbox(at + Duration::minutes(3), Duration::minutes(2), 100).await.unwrap();
        assert_eq!(again.len(), 50);
        // Finishing: sent rows are gone for good, retried ones due later.
        let (first, second) = (&again[0], &again[1]);
        a.finish_outbox(first, &DeliveryOutcome::Sent { reply: "250 ok".into() }, at).await.unwrap();
        a.finish_outbox(second, &DeliveryOutcome::Retry { error: "421 later".into(), retry_at: at + Duration::hours(1) }, at).await.unwrap();
        let later = a.claim_outbox(at + Duration::minutes(10), Duration::minutes(2), 100).await.unwrap();
        assert_eq!(later.len(), 48);
        let much_later = a.claim_outbox(at + Duration::hours(2), Duration::minutes(2), 100).await.unwrap();
        assert!(much_later.iter().any(|i| i.id == second.id && i.attempts == 1));
        assert!(!much_later.iter().any(|i| i.id == first.id));
        let sent = a.get_invitation(&t, first.invitation_id).await.unwrap();
        assert_eq!(sent.delivery_state, DeliveryState::Sent);
        let attempts = a.list_delivery_attempts(&t, first.invitation_id).await.unwrap();
        assert_eq!(attempts.len(), 1);
        assert_eq!(attempts[0].detail, "250 ok");
    }
}

contract! {
    async fn a_unit_commits_its_writes_with_its_answer_once_per_key(pg) {
        let (_db, a, b, t) = two_processes(pg).await;
        let hash = [7u8; 32];
        // Four requests with one key, two per process: each writes (a role
        // of its own) inside its unit, then tries to store its answer.
        let mut tasks = Vec::new();
        for (n, store) in [a.clone(), b.clone(), a.clone(), b.clone()].into_iter().enumerate() {
            let t = t.clone();
            tasks.push(tokio::spawn(async move {
                let unit = invitd_store::Unit::new();
                let role = Role { id: RoleId::parse(format!("role-{n}")).unwrap(), name: format!("R{n}"), rank: 2 };
                unit.scope(store.create_role(&t, &role, now(), &operator())).await.unwrap();
                let body = format!("{{\"n\":{n}}}");
                let answer = IdempotentAnswer { scope: "k1 POST /x", key: "key", request_hash: &hash, status: 201, body: body.as_bytes(), now: now() };
                (n, store.commit_unit(unit, Some(answer)).await.unwrap())
            }));
        }
        let mut committed = Vec::new();
        let mut taken = Vec::new();
        for task in tasks {
            match task.await.unwrap() {
                (n, UnitOutcome::Committed) => committed.push(n),
                (_, UnitOutcome::Taken(first)) => taken.push(first),
            }
        }
        assert_eq!(committed.len(), 1, "one request's writes and answer stand");
        let winner = committed[0];
        let answer = StoredAnswer { request_hash: hash.to_vec(), status: 201, body: format!("{{\"n\":{winner}}}").into_bytes() };
        assert!(taken.iter().all(|t| *t == answer), "the others get the winner's answer");
        let roles = b.list_roles(&t).await.unwrap();
        let mine: Vec<String> = roles.iter().map(|r| r.id.as_str().to_string()).filter(|r| r.starts_with("role-")).collect();
        assert_eq!(mine, vec![format!("role-{winner}")], "the losers' writes are rolled back");
        assert_eq!(a.idempotency_lookup("k1 POST /x", "key", now()).await.unwrap(), Some(answer.clone()));
        // Forgotten after a day.
        assert_eq!(b.idempotency_lookup("k1 POST /x", "key", now() + Duration::hours(25)).await.unwrap(), None);
        // A unit dropped without committing (a crash before the answer)
        // leaves nothing behind.
        let unit = invitd_store::Unit::new();
        let role = Role { id: RoleId::parse("dropped").unwrap(), name: "D".into(), rank: 2 };
        unit.scope(a.create_role(&t, &role, now(), &operator())).await.unwrap();
        drop(unit);
        assert!(!b.list_roles(&t).await.unwrap().iter().any(|r| r.id.as_str() == "dropped"));
        // A failing write inside a unit rolls back alone: the unit's other
        // writes and its answer commit.
        let unit = invitd_store::Unit::new();
        let role = Role { id: RoleId::parse("kept").unwrap(), name: "K".into(), rank: 2 };
        unit.scope(a.create_role(&t, &role, now(), &operator())).await.unwrap();
        let again = unit.scope(a.create_role(&t, &role, now(), &operator())).await;
        assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
        let answer = IdempotentAnswer { scope: "k1 POST /x", key: "key2", request_hash: &hash, status: 409, body: b"{}", now: now() };
        assert_eq!(a.commit_unit(unit, Some(answer)).await.unwrap(), UnitOutcome::Committed);
        assert!(b.list_roles(&t).await.unwrap().iter().any(|r| r.id.as_str() == "kept"));
        assert_eq!(b.idempotency_lookup("k1 POST /x", "key2", now()).await.unwrap().map(|s| s.status), Some(409));
    }
}

contract! {
    async fn a_large_stored_answer_comes_back_byte_for_byte(pg) {
        // Large answers are kept compressed; the replay is the body sent.
        let (_db, a, _t) = one_process(pg).await;
        let body: Vec<u8> = (0..20_000)
            .flat_map(|i| format!("{{\"id\":\"{i:08}\",\"email\":\"p{i}@example.com\"}},").into_bytes())
            .collect();
        let hash = [9u8; 32];
        let answer = IdempotentAnswer { scope: "k POST /big", key: "big", request_hash: &hash, status: 201, body: &body, now: now() };
        let unit = invitd_store::Unit::new();
        assert_eq!(a.commit_unit(unit, Some(answer)).await.unwrap(), UnitOutcome::Committed);
        let stored = a.idempotency_lookup("k POST /big", "big", now()).await.unwrap().unwrap();
        assert_eq!(stored.status, 201);
        assert!(stored.body == body, "the replayed body differs from the one stored");
    }
}
