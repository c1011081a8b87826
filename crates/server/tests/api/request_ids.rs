//! Request ids: every response carries one, the client's own when it sent a
//! usable one, and a problem document names it.

use crate::harness::*;

fn id_of(reply: &Reply) -> String {
    reply.headers.get("x-request-id").expect("x-request-id").to_str().unwrap().to_string()
}

async fn every_response_carries_a_request_id_and_problems_name_it() {
    let app = spawn_app().await;
    // Generated when the client sends none: a UUID, different each time.
    let first = app.get("/v1/tenants/acme/invitations").await;
    let second = app.get("/v1/tenants/acme/invitations").await;
    assert_eq!(first.status, 200);
    assert!(uuid::Uuid::parse_str(&id_of(&first)).is_ok(), "{}", id_of(&first));
    assert_ne!(id_of(&first), id_of(&second));
    // A problem document names the id of its response.
    let missing = app.invitation("acme", "01a20314-9748-7221-befe-0cc54ed1667b").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body["request_id"], id_of(&missing).as_str());
    // The client's own id is kept, on the response and in the problem.
    let theirs = app
        .call(
            reqwest::Method::GET,
            "/v1/tenants/nowhere",
            Some(&app.key),
            None,
            &[("x-request-id", "trace-abc.123")],
        )
        .await;
    assert_eq!(theirs.status, 404);
    assert_eq!(id_of(&theirs), "trace-abc.123");
    assert_eq!(theirs.body["request_id"], "trace-abc.123");
    // One that cannot be a header value or a log field is replaced.
    let long = "x".repeat(129);
    for unusable in [long.as_str(), "has space"] {
        let reply = app
            .call(reqwest::Method::GET, "/healthz", None, None, &[("x-request-id", unusable)])
            .await;
        assert_ne!(id_of(&reply), unusable);
        assert!(uuid::Uuid::parse_str(&id_of(&reply)).is_ok());
    }
    // Pages and unmatched paths get one too.
    assert!(!id_of(&app.get("/no/such/path").await).is_empty());
}
both!(every_response_carries_a_request_id_and_problems_name_it);
