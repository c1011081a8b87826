//! Units of work (a keyed request, a bulk call) beside the writes of
//! everyone else: each rolls back alone, a stalled one cannot hold the
//! others, a write made outside a unit while it is open cannot hang, and a
//! unique index refuses a row with the same error inside a unit and out.

use super::*;
use invitd_store::Unit;

/// A store whose units may leave the SQLite writer waiting `bound` in all.
async fn open_bounded(db: &Db, bound: std::time::Duration) -> Arc<dyn Store> {
    let options = OpenOptions { unit_bound: bound, ..OpenOptions::default() };
    invitd_store::open(&db.url, &options).await.unwrap()
}

async fn exists(store: &dyn Store, tenant: &TenantId, email: &str) -> bool {
    let filter = InvitationFilter {
        email_normalized: Some(email.to_string()),
        limit: 10,
        ..InvitationFilter::default()
    };
    !store.list_invitations(tenant, &filter, now()).await.unwrap().is_empty()
}

async fn create_in_unit(store: &dyn Store, unit: &Unit, tenant: &TenantId, email: &str) {
    let (item, _) = new_invitation(tenant, email, now());
    let created = unit
        .scope(store.create_invitations(vec![item], Quota::default(), now(), &operator()))
        .await
        .unwrap();
    assert!(matches!(created[0], CreateOutcome::Created(_)), "{created:?}");
}

contract! {
    async fn a_unit_that_fails_rolls_back_alone_while_others_commit(pg) {
        let (_db, store, t) = one_process(pg).await;
        // A unit writes, then others write beside it while it is open.
        let unit = Unit::new();
        create_in_unit(&*store, &unit, &t, "keyed@example.com").await;
        let others = {
            let store = store.clone();
            let t = t.clone();
            tokio::spawn(async move {
                for n in 0..5 {
                    create_one(&*store, &t, &format!("plain{n}@example.com")).await;
                }
            })
        };
        // The unit fails: dropped without committing.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        drop(unit);
        others.await.unwrap();
        assert!(!exists(&*store, &t, "keyed@example.com").await, "the failed unit is undone");
        for n in 0..5 {
            assert!(exists(&*store, &t, &format!("plain{n}@example.com")).await, "plain{n} stays");
        }
        // A unit that commits keeps its writes.
        let unit = Unit::new();
        create_in_unit(&*store, &unit, &t, "kept@example.com").await;
        assert_eq!(store.commit_unit(unit, None).await.unwrap(), UnitOutcome::Committed);
        assert!(exists(&*store, &t, "kept@example.com").await);
    }
}

contract! {
    async fn a_stalled_unit_cannot_hold_other_writes_past_its_bound(pg) {
        let db = database(pg).await;
        let bound = std::time::Duration::from_millis(400);
        let store = open_bounded(&db, bound).await;
        let t = tenant(&*store, "acme").await;
        let unit = Unit::new();
        create_in_unit(&*store, &unit, &t, "stalled@example.com").await;
        // The unit stalls; a write outside it still goes through, at the
        // latest once the bound has passed.
        let started = std::time::Instant::now();
        let other = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            create_one(&*store, &t, "other@example.com"),
        )
        .await;
        assert!(other.is_ok(), "a write waited on a stalled unit for 10 s");
        assert!(started.elapsed() < bound + std::time::Duration::from_secs(3));
        tokio::time::sleep(bound).await;
        let ended = store.commit_unit(unit, None).await;
        if pg {
            // PostgreSQL locks rows, not the database: the unit held
            // nobody up, and it commits.
            assert_eq!(ended.unwrap(), UnitOutcome::Committed);
        } else {
            assert!(matches!(ended, Err(StoreError::Unavailable(_))), "{ended:?}");
            assert!(!exists(&*store, &t, "stalled@example.com").await, "rolled back");
        }
        assert!(exists(&*store, &t, "other@example.com").await);
        // The writer serves the next unit as before.
        let unit = Unit::new();
        create_in_unit(&*store, &unit, &t, "after@example.com").await;
        assert_eq!(store.commit_unit(unit, None).await.unwrap(), UnitOutcome::Committed);
    }
}

contract! {
    async fn a_write_outside_an_open_unit_awaited_inside_it_cannot_hang(pg) {
        // A unit's code awaits a write that runs outside the unit (a task
        // of its own). With a writer that the unit holds, that write waits
        // for the unit and the unit for it: it must end, not hang.
        let db = database(pg).await;
        let store = open_bounded(&db, std::time::Duration::from_millis(300)).await;
        let t = tenant(&*store, "acme").await;
        let unit = Unit::new();
        let inner = {
            let (store, t) = (store.clone(), t.clone());
            async move {
                let (item, _) = new_invitation(&t, "inside@example.com", now());
                store.create_invitations(vec![item], Quota::default(), now(), &operator()).await?;
                let (store, t) = (store.clone(), t.clone());
                let outside = tokio::spawn(async move {
                    let (item, _) = new_invitation(&t, "outside@example.com", now());
                    store.create_invitations(vec![item], Quota::default(), now(), &operator()).await
                });
                outside.await.unwrap()
            }
        };
        let done = tokio::time::timeout(std::time::Duration::from_secs(20), unit.scope(inner)).await;
        let outside = done.expect("the unit and the write outside it waited for each other");
        outside.unwrap();
        assert!(exists(&*store, &t, "outside@example.com").await);
        let ended = store.commit_unit(unit, None).await;
        if pg {
            assert_eq!(ended.unwrap(), UnitOutcome::Committed);
        } else {
            assert!(matches!(ended, Err(StoreError::Unavailable(_))), "{ended:?}");
        }
    }
}

contract! {
    async fn a_unique_index_refuses_a_row_with_one_error_inside_a_unit_and_out(pg) {
        let (_db, store, t) = one_process(pg).await;
        let again = store.get_tenant(&t).await.unwrap();
        let roles = [Role { id: RoleId::parse("viewer").unwrap(), name: "V".into(), rank: 1 }];
        let role = &roles[0];
        // Outside a unit (on SQLite, a job of the writer thread).
        let tenant_outside = store.create_tenant(&again, &roles, &operator()).await.unwrap_err();
        let role_outside = store.create_role(&t, role, now(), &operator()).await.unwrap_err();
        // Inside one (a step of the unit's session).
        let unit = Unit::new();
        let tenant_inside =
            unit.scope(store.create_tenant(&again, &roles, &operator())).await.unwrap_err();
        let role_inside = unit.scope(store.create_role(&t, role, now(), &operator())).await.unwrap_err();
        // The unit's failed writes left it usable: it commits what it did
        // (nothing).
        assert_eq!(store.commit_unit(unit, None).await.unwrap(), UnitOutcome::Committed);
        assert_eq!(tenant_outside.to_string(), tenant_inside.to_string());
        assert!(matches!(tenant_outside, StoreError::Conflict(_)), "{tenant_outside:?}");
        assert_eq!(role_outside.to_string(), role_inside.to_string());
        assert!(matches!(role_inside, StoreError::Conflict(_)), "{role_inside:?}");
    }
}

contract! {
    async fn emails_keep_flowing_while_keyed_calls_run(pg) {
        // Keyed calls of 200 addresses run back to back from four tasks;
        // the email worker's claims and outcomes get their turn between
        // them: counted while the calls still run.
        let (_db, store, t) = one_process(pg).await;
        let running = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let mut callers = Vec::new();
        for c in 0..4 {
            let (store, t) = (store.clone(), t.clone());
            callers.push(tokio::spawn(async move {
                for call in 0..6 {
                    let items = (0..200)
                        .map(|n| new_invitation(&t, &format!("c{c}-{call}-{n}@example.com"), now()).0)
                        .collect();
                    let unit = Unit::new();
                    unit.scope(store.create_invitations(items, Quota::default(), now(), &operator()))
                        .await
                        .unwrap();
                    let key = format!("k{c}-{call}");
                    let hash = [c as u8; 32];
                    let answer = IdempotentAnswer {
                        scope: "s",
                        key: &key,
                        request_hash: &hash,
                        status: 201,
                        body: b"{}",
                        now: now(),
                    };
                    assert_eq!(store.commit_unit(unit, Some(answer)).await.unwrap(), UnitOutcome::Committed);
                }
            }));
        }
        let worker = {
            let (store, running) = (store.clone(), running.clone());
            tokio::spawn(async move {
                let mut sent_while_running = 0;
                while running.load(std::sync::atomic::Ordering::Relaxed) {
                    let claimed = store.claim_outbox(now(), Duration::seconds(30), 50).await.unwrap();
                    // Outcomes recorded side by side, as the email worker
                    // records those of the emails it sends at once.
                    let finishing: Vec<_> = claimed
                        .iter()
                        .cloned()
                        .map(|item| {
                            let store = store.clone();
                            tokio::spawn(async move {
                                let outcome = DeliveryOutcome::Sent { reply: "250 ok".into() };
                                store.finish_outbox(&item, &outcome, now()).await.unwrap();
                            })
                        })
                        .collect();
                    for f in finishing {
                        f.await.unwrap();
                    }
                    if running.load(std::sync::atomic::Ordering::Relaxed) {
                        sent_while_running += claimed.len();
                    }
                    tokio::task::yield_now().await;
                }
                sent_while_running
            })
        };
        for caller in callers {
            caller.await.unwrap();
        }
        running.store(false, std::sync::atomic::Ordering::Relaxed);
        let sent = worker.await.unwrap();
        assert!(sent >= 200, "only {sent} of 4,800 emails went out while the keyed calls ran");
    }
}

/// PostgreSQL: a write waits for its turn in the process rather than for a
/// pooled connection (whose acquire gives up after 5 s). With a pool of
/// one, a unit holds the only connection for 6 s; a second unit's write
/// waits that out and succeeds instead of failing on the pool's timeout.
#[tokio::test]
#[cfg_attr(not(pg_tests), ignore = "PostgreSQL skipped: set INVITD_TEST_DATABASE_URL to run it")]
async fn a_postgres_write_waits_for_its_turn_past_the_pools_timeout() {
    let db = database(true).await;
    let options = OpenOptions { pool_size: 1, ..OpenOptions::default() };
    let store = invitd_store::open(&db.url, &options).await.unwrap();
    let t = tenant(&*store, "acme").await;
    let first = Unit::new();
    create_in_unit(&*store, &first, &t, "first@example.com").await;
    let holder = {
        let store = store.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_secs(6)).await;
            store.commit_unit(first, None).await.unwrap()
        })
    };
    let second = Unit::new();
    let started = std::time::Instant::now();
    create_in_unit(&*store, &second, &t, "second@example.com").await;
    assert!(started.elapsed() >= std::time::Duration::from_secs(5), "it did not wait");
    assert_eq!(store.commit_unit(second, None).await.unwrap(), UnitOutcome::Committed);
    assert_eq!(holder.await.unwrap(), UnitOutcome::Committed);
    assert!(exists(&*store, &t, "second@example.com").await);
}
