//! Revoke and resend in bulk, by address and by id, answered per item.

use crate::harness::*;
use serde_json::{Value, json};
use time::Duration;

async fn bulk(app: &TestApp, action: &str, body: Value) -> Reply {
    app.post(&format!("/v1/tenants/acme/invitations/{action}"), body).await
}

/// The failure about `key` (an address or an id as given), by its `field`.
#[track_caller]
fn failure<'a>(answer: &'a Value, field: &str, key: &str) -> &'a Value {
    let failures = answer["failures"].as_array().unwrap();
    failures.iter().find(|f| f[field] == key).unwrap_or_else(|| panic!("no {key}: {answer}"))
}

async fn bulk_revoke_by_address_answers_each_item() {
    let app = spawn_app().await;
    let created = app.invite(&["ann@example.com", "bob@example.com", "cy@example.com"]).await;
    let ids: Vec<&str> = created.iter().map(|i| i["id"].as_str().unwrap()).collect();
    app.accept(&token_of(&created[2])).await.expect(200);
    let emails = [
        "ANN@example.com",
        "bob@example.com",
        "cy@example.com",
        "nobody@example.com",
        "not an address",
        "ann@EXAMPLE.com",
    ];
    let answer = bulk(&app, "revoke", json!({"emails": emails})).await.expect(200);
    let revoked = &answer["invitations"];
    assert_eq!(strings(revoked, "id"), [ids[0], ids[1]]);
    assert_eq!(strings(revoked, "status"), ["revoked", "revoked"]);
    assert_eq!(answer["failures"].as_array().unwrap().len(), 4, "{answer}");
    let cy = failure(&answer, "email", "cy@example.com");
    assert_eq!((&cy["code"], &cy["id"]), (&json!("not_pending"), &json!(ids[2])));
    assert_eq!(failure(&answer, "email", "nobody@example.com")["code"], "not_found");
    assert_eq!(failure(&answer, "email", "not an address")["code"], "invalid_email");
    assert_eq!(failure(&answer, "email", "ann@EXAMPLE.com")["code"], "duplicate_in_request");
    for id in &ids[..2] {
        assert_eq!(app.invitation("acme", id).await.expect(200)["status"], "revoked");
        let events = app.get(&format!("/v1/tenants/acme/invitations/{id}/events")).await;
        let events = events.expect(200)["events"].clone();
        assert_eq!(strings(&events, "type"), ["invitation.created", "invitation.revoked"]);
    }
    assert_eq!(app.invitation("acme", ids[2]).await.expect(200)["status"], "accepted");
    // An address names its newest invitation: after a new one, that one.
    let again = app.invite(&["ann@example.com"]).await.remove(0);
    let answer = bulk(&app, "revoke", json!({"emails": ["ann@example.com"]})).await.expect(200);
    assert_eq!(strings(&answer["invitations"], "id"), [again["id"].as_str().unwrap()]);
}
both!(bulk_revoke_by_address_answers_each_item);

async fn bulk_revoke_by_id_answers_each_item() {
    let app = spawn_app().await;
    let (ann, _) = app.invite_one("ann@example.com").await;
    let (bob, _) = app.invite_one("bob@example.com").await;
    app.advance(Duration::days(8));
    let unknown = "0190c3a4-0000-7000-8000-000000000000";
    let body = json!({"ids": [ann, bob, unknown, "nope", bob]});
    let answer = bulk(&app, "revoke", body.clone()).await.expect(200);
    // Expired invitations are revoked too, as by the single revoke.
    assert_eq!(strings(&answer["invitations"], "id"), [ann.as_str(), bob.as_str()]);
    assert_eq!(failure(&answer, "id", unknown)["code"], "not_found");
    assert_eq!(failure(&answer, "id", "nope")["code"], "not_found");
    assert_eq!(answer["failures"][2]["code"], "duplicate_in_request");
    let again = bulk(&app, "revoke", json!({"ids": [ann]})).await.expect(200);
    assert_eq!(failure(&again, "id", &ann)["code"], "not_pending");
    assert_eq!(again["invitations"], json!([]));
    // Another tenant's invitation is not found from acme.
    let other =
        app.create("globex", viewers(&["ann@example.com"])).await.expect(201)["invitations"][0]
            ["id"]
            .clone();
    let answer = bulk(&app, "revoke", json!({"ids": [other]})).await.expect(200);
    assert_eq!(answer["failures"][0]["code"], "not_found");
}
both!(bulk_revoke_by_id_answers_each_item);

async fn bulk_resend_mints_new_links_and_reports_cooldowns_with_seconds() {
    let app = spawn_app().await;
    let (ann, _) = app.invite_one_ready_to_resend("ann@example.com").await;
    let (_, bob_token) = app.invite_one("bob@example.com").await;
    app.advance(Duration::minutes(2));
    app.resend("acme", &ann).await.expect(200);
    app.advance(Duration::seconds(20));
    app.deliver_all().await;
    let sent_before = app.emails().len();

    let body = json!({"emails": ["ann@example.com", "bob@example.com"]});
    let answer = bulk(&app, "resend", body).await.expect(200);
    let resent = &answer["invitations"];
    assert_eq!(strings(resent, "email"), ["bob@example.com"]);
    assert_eq!(resent[0]["resend_count"], 1);
    let new_token = token_of(&resent[0]);
    assert_ne!(new_token, bob_token);
    let ann_failure = failure(&answer, "email", "ann@example.com");
    assert_eq!(ann_failure["code"], "resend_cooldown");
    assert_eq!(ann_failure["retry_after_seconds"], 40);
    assert_eq!(ann_failure["id"], ann.as_str());
    // The new link works, the old one is replaced; one new email went out.
    app.accept(&bob_token).await.problem(409, "token_replaced");
    assert_eq!(app.deliver_all().await, 1);
    assert_eq!(app.emails().len(), sent_before + 1);
    assert!(app.emails().last().unwrap().contains(&new_token));
    app.accept(&new_token).await.expect(200);
    let again = bulk(&app, "resend", json!({"emails": ["bob@example.com"]})).await.expect(200);
    assert_eq!(again["failures"][0]["code"], "not_pending");
}
both!(bulk_resend_mints_new_links_and_reports_cooldowns_with_seconds);

async fn bulk_calls_refuse_a_bad_selection_whole() {
    let app = spawn_app().await;
    let (ann, _) = app.invite_one("ann@example.com").await;
    let many: Vec<String> = (0..1001).map(|i| format!("p{i}@example.com")).collect();
    for action in ["revoke", "resend"] {
        for body in [
            json!({}),
            json!({"emails": []}),
            json!({"ids": []}),
            json!({"emails": many}),
            json!({"emails": ["ann@example.com"], "ids": [ann]}),
        ] {
            bulk(&app, action, body).await.problem(400, "invalid_request");
        }
        bulk(&app, action, json!({"emails": "ann@example.com"}))
            .await
            .problem(400, "malformed_json");
        bulk(&app, action, json!({"names": ["ann"]})).await.problem(400, "malformed_json");
        let path = format!("/v1/tenants/acme/invitations/{action}");
        let reader = app.key_with(&["invites:read"], None).await;
        app.with_key(&reader).post(&path, json!({"ids": [ann]})).await.problem(403, "forbidden");
        let elsewhere = app.key_with(&["invites:write"], Some(&["globex"])).await;
        let reply = app.with_key(&elsewhere).post(&path, json!({"ids": [ann]})).await;
        reply.problem(404, "not_found");
    }
    assert_eq!(app.invitation("acme", &ann).await.expect(200)["status"], "pending");
}
both!(bulk_calls_refuse_a_bad_selection_whole);

async fn a_bulk_call_with_an_idempotency_key_is_replayed_not_redone() {
    let app = spawn_app().await;
    app.invite(&["ann@example.com", "bob@example.com"]).await;
    app.advance(Duration::minutes(2));
    let body = json!({"emails": ["ann@example.com", "bob@example.com"]});
    let keyed = app.with_idempotency_key("bulk-1");
    let first = keyed.post("/v1/tenants/acme/invitations/resend", body.clone()).await;
    let first = first.expect(200);
    assert_eq!(first["invitations"].as_array().unwrap().len(), 2);
    let again = keyed.post("/v1/tenants/acme/invitations/resend", body).await;
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.expect(200), first);
    let listed = app.get("/v1/tenants/acme/invitations").await.expect(200);
    let counts: Vec<i64> = listed["invitations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["resend_count"].as_i64().unwrap())
        .collect();
    assert_eq!(counts, [1, 1]);
}
both!(a_bulk_call_with_an_idempotency_key_is_replayed_not_redone);

async fn concurrent_bulk_calls_in_opposite_orders_act_on_each_invitation_once() {
    // Two servers on one database; calls naming the same invitations in
    // opposite orders, and accept-all on the same addresses, all at once:
    // each invitation ends revoked or accepted exactly once, and no call
    // fails (none deadlocks on PostgreSQL).
    let (a, b) = crate::multi::pair(None, false).await;
    let emails: Vec<String> = (0..40).map(|i| format!("p{i}@example.com")).collect();
    let refs: Vec<&str> = emails.iter().map(String::as_str).collect();
    a.create("acme", viewers(&refs)).await.expect(201);
    let reversed: Vec<&str> = refs.iter().rev().copied().collect();
    let path = "/v1/tenants/acme/invitations/revoke";
    let (forward, backward, accepting) = tokio::join!(
        crate::multi::fire(&a, &b, 2, path, json!({"emails": refs}), &[]),
        crate::multi::fire(&b, &a, 2, path, json!({"emails": reversed}), &[]),
        crate::multi::fire(
            &a,
            &b,
            2,
            "/v1/invitations/accept-all",
            json!({"email": "p7@example.com", "account_id": "u"}),
            &[]
        ),
    );
    let mut acted = std::collections::HashMap::new();
    for (status, body) in forward.iter().chain(&backward).chain(&accepting) {
        assert_eq!(*status, 200, "{body}");
        for inv in body["invitations"].as_array().unwrap() {
            *acted.entry(inv["email"].as_str().unwrap().to_string()).or_insert(0) += 1;
        }
        for f in body["failures"].as_array().into_iter().flatten() {
            assert_eq!(f["code"], "not_pending", "{f}");
        }
    }
    assert_eq!(acted.len(), 40, "{acted:?}");
    assert!(acted.values().all(|n| *n == 1), "{acted:?}");
    let listed = a.get("/v1/tenants/acme/invitations?status=pending").await.expect(200);
    assert_eq!(listed["invitations"], json!([]));
}
both!(concurrent_bulk_calls_in_opposite_orders_act_on_each_invitation_once);

/// One transaction per call, seen from outside (PostgreSQL, where another
/// connection can hold one row): while the call waits for the last row it
/// takes, the rows it already revoked still read pending; once it can go
/// on, all are revoked at once.
#[tokio::test]
#[cfg_attr(not(pg_tests), ignore = "PostgreSQL skipped: set INVITD_TEST_DATABASE_URL to run it")]
async fn a_bulk_call_is_one_transaction() {
    on_postgres(async {
        let app = spawn_app().await;
        let created = app.invite(&["ann@example.com", "bob@example.com", "cy@example.com"]).await;
        // Rows are taken by id, descending: the smallest id comes last.
        let last = created.iter().map(|i| i["id"].as_str().unwrap()).min().unwrap().to_string();
        let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
        let mut holder = pool.begin().await.unwrap();
        let bytes = uuid::Uuid::parse_str(&last).unwrap().as_bytes().to_vec();
        sqlx::query("SELECT number FROM invitations WHERE id = $1 FOR UPDATE")
            .bind(bytes)
            .execute(&mut *holder)
            .await
            .unwrap();
        let (client, url, key) = (app.client.clone(), app.base.clone(), app.key.clone());
        let emails = json!({"emails": ["ann@example.com", "bob@example.com", "cy@example.com"]});
        let call = tokio::spawn(async move {
            let url = format!("{url}/v1/tenants/acme/invitations/revoke");
            let resp = client.post(url).bearer_auth(key).json(&emails).send().await.unwrap();
            (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
        });
        let waiting = "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'";
        let started = std::time::Instant::now();
        loop {
            let (n,): (i64,) = sqlx::query_as(waiting).fetch_one(&pool).await.unwrap();
            if n > 0 {
                break;
            }
            assert!(started.elapsed() < std::time::Duration::from_secs(10), "the call never waited");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let pending = app.get("/v1/tenants/acme/invitations?status=pending").await.expect(200);
        assert_eq!(pending["invitations"].as_array().unwrap().len(), 3, "nothing shows early");
        holder.rollback().await.unwrap();
        let (status, answer) = call.await.unwrap();
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["invitations"].as_array().unwrap().len(), 3, "{answer}");
        let pending = app.get("/v1/tenants/acme/invitations?status=pending").await.expect(200);
        assert_eq!(pending["invitations"], json!([]));
    })
    .await
}
