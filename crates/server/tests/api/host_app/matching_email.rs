//! `account_email` on answers by token, and the tenant's
//! `require_matching_email`.

use super::{event, events};
use crate::accept_page::{answer, nonce_of, page};
use crate::harness::*;
use serde_json::json;

async fn require_matching(app: &TestApp) {
    let t =
        app.patch("/v1/tenants/acme", json!({"require_matching_email": true})).await.expect(200);
    assert_eq!(t["require_matching_email"], true);
}

async fn the_wrong_account_is_refused_and_burns_nothing() {
    let app = spawn_app().await;
    require_matching(&app).await;
    let (id, token) = app.invite_one("Ann.Lee@Example.com").await;
    for path in ["/v1/invitations/accept", "/v1/invitations/decline"] {
        let body = json!({"token": token, "account_id": "u-9", "account_email": "bob@example.com"});
        let refused = app.post(path, body).await.problem(409, "email_mismatch");
        let detail = refused["detail"].as_str().unwrap();
        assert!(detail.contains("a***@example.com"), "{detail}");
        assert!(!detail.contains("ann.lee"), "the address is masked: {detail}");
    }
    let read = app.invitation("acme", &id).await.expect(200);
    assert_eq!(read["status"], "pending");
    app.post("/v1/invitations/lookup", json!({"token": token})).await.expect(200);
    let (types, list) = events(&app, &id).await;
    assert_eq!(
        types,
        ["invitation.created", "invitation.accept_refused", "invitation.accept_refused"]
    );
    let refused = event(&list, "invitation.accept_refused");
    assert_eq!(refused["data"]["account_email"], "bob@example.com");
    assert_eq!(refused["data"]["answer"], "decline");
    assert_eq!(refused["actor"], json!({"kind": "invitee", "account_id": "u-9"}));
    // Refused answers are in the tenant's audit trail, filterable by type.
    let log = app.get("/v1/tenants/acme/events?type=invitation.accept_refused").await.expect(200);
    assert_eq!(log["events"].as_array().unwrap().len(), 2);

    // A bad address is a 400, and changes nothing either.
    app.post("/v1/invitations/accept", json!({"token": token, "account_email": "not an address"}))
        .await
        .problem(400, "invalid_request");
    // The invited address, in another case and with spaces, is a match.
    let accepted = app
        .post(
            "/v1/invitations/accept",
            json!({"token": token, "account_id": "u-1", "account_email": "  ann.lee@EXAMPLE.com "}),
        )
        .await
        .expect(200);
    assert_eq!(accepted["status"], "accepted");
    assert_eq!(accepted["accepted_by"], "u-1");
    assert!(
        accepted["accepted_email"].as_str().unwrap().eq_ignore_ascii_case("ann.lee@example.com")
    );
    // Once answered, the answer stands whoever asks.
    app.post("/v1/invitations/accept", json!({"token": token, "account_email": "bob@example.com"}))
        .await
        .problem(409, "invitation_already_accepted");
    // Without `account_email` the host app vouches for the user itself.
    let (_, other) = app.invite_one("cat@example.com").await;
    app.accept(&other).await.expect(200);
}
both!(the_wrong_account_is_refused_and_burns_nothing);

async fn without_the_setting_the_address_is_recorded() {
    let app = spawn_app().await;
    let (id, token) = app.invite_one("ann@example.com").await;
    let body =
        json!({"token": token, "account_id": "u-2", "account_email": "ann.work@example.org"});
    let accepted = app.post("/v1/invitations/accept", body).await.expect(200);
    assert_eq!(accepted["status"], "accepted");
    assert_eq!(accepted["accepted_email"], "ann.work@example.org");
    let read = app.invitation("acme", &id).await.expect(200);
    assert_eq!(read["accepted_email"], "ann.work@example.org");
    let (types, list) = events(&app, &id).await;
    assert_eq!(types, ["invitation.created", "invitation.accepted"]);
    let data = &event(&list, "invitation.accepted")["data"];
    assert_eq!(data["account_email"], "ann.work@example.org");
    assert_eq!(data["account_id"], "u-2");

    let (bob, token) = app.invite_one("bob@example.com").await;
    let declined = app
        .post("/v1/invitations/decline", json!({"token": token, "account_email": "x@example.org"}))
        .await
        .expect(200);
    assert_eq!(declined["accepted_email"], json!(null));
    let (_, list) = events(&app, &bob).await;
    assert_eq!(event(&list, "invitation.declined")["data"]["account_email"], "x@example.org");
}
both!(without_the_setting_the_address_is_recorded);

async fn a_refusal_with_an_idempotency_key_is_replayed() {
    let app = spawn_app().await;
    require_matching(&app).await;
    let (id, token) = app.invite_one("ann@example.com").await;
    let body = json!({"token": token, "account_email": "eve@example.com"});
    let keyed = app.with_idempotency_key("k-1");
    keyed.post("/v1/invitations/accept", body.clone()).await.problem(409, "email_mismatch");
    let replay = app.with_idempotency_key("k-1").post("/v1/invitations/accept", body).await;
    assert_eq!(replay.headers["idempotent-replayed"], "true");
    replay.problem(409, "email_mismatch");
    let (types, _) = events(&app, &id).await;
    assert_eq!(types, ["invitation.created", "invitation.accept_refused"], "recorded once");
}
both!(a_refusal_with_an_idempotency_key_is_replayed);

async fn the_accept_page_has_no_signed_in_user_and_is_not_affected() {
    let app = spawn_app().await;
    require_matching(&app).await;
    let (id, token) = app.invite_one("ann@example.com").await;
    let opened = page(&app, &token, None).await;
    let done = answer(&app, &token, &nonce_of(&opened.html), "accept", &[]).await;
    assert_eq!(done.status, 200, "{}", done.html);
    let read = app.invitation("acme", &id).await.expect(200);
    assert_eq!(read["status"], "accepted");
    assert_eq!(read["accepted_email"], json!(null));
}
both!(the_accept_page_has_no_signed_in_user_and_is_not_affected);
