//! `invitd invite` against a real server: a file with good, bad and
//! duplicate rows (BOM, `;` delimiter), the report, a re-run that invites
//! nobody twice, a dry run, and the exit statuses.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{acme_and_key, invitd, serve_on_any_port, stop};

fn invite(db: &str, base: &str, key: &str, args: &[&str]) -> (i32, String, String) {
    let out = invitd(db)
        .arg("invite")
        .args(["--tenant", "acme", "--url", base])
        .env("INVITD_KEY", key)
        .args(args)
        .output()
        .unwrap();
    let code = out.status.code().unwrap();
    (code, String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

async fn pending(base: &str, key: &str) -> usize {
    let body: serde_json::Value = reqwest::Client::new()
        .get(format!("{base}/v1/tenants/acme/invitations?status=pending&limit=100"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["invitations"].as_array().unwrap().len()
}

#[tokio::test]
async fn a_csv_file_invites_once_and_reports_every_row() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("invitd.db").display());
    let key = acme_and_key(&db);
    let (server, base) = serve_on_any_port(
        invitd(&db)
            .arg("serve")
            .env("INVITD_MAIL_URL", format!("file://{}", dir.path().join("mail").display())),
    );
    let file = dir.path().join("people.csv");
    std::fs::write(
        &file,
        "\u{feff}Email;ROLES;Language;metadata.team\n\
         ann@example.com;editor;de;blue\n\
         not-an-address;viewer;;\n\
         Ann@Example.com;editor;;\n\
         bob@example.com;;;red\n\
         cy@example.com;wizard;;\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();

    // A dry run checks every row and invites nobody.
    let (code, report, _) =
        invite(&db, &base, &key, &["--file", path, "--roles", "viewer", "--dry-run"]);
    assert_eq!(code, 2);
    assert!(report.contains("2,ann@example.com,would_invite,,"), "{report}");
    assert!(report.contains("5,bob@example.com,would_invite,,"), "{report}");
    assert!(
        report.contains("6,cy@example.com,unknown_role,,not a role of this tenant: wizard"),
        "{report}"
    );
    assert_eq!(pending(&base, &key).await, 0);

    // The import of the file, its report written to `name`: (exit code,
    // summary, report).
    let import = |name: &str| {
        let report_path = dir.path().join(name);
        let report_arg = report_path.to_str().unwrap();
        let (code, _, summary) = invite(
            &db,
            &base,
            &key,
            &["--file", path, "--roles", "viewer", "--report", report_arg],
        );
        (code, summary, std::fs::read_to_string(&report_path).unwrap())
    };

    // The import: every row reported, in file order, with its line.
    let (code, summary, first) = import("report.csv");
    assert_eq!(code, 2, "some rows failed: {summary}");
    let lines: Vec<&str> = first.lines().collect();
    assert_eq!(lines[0], "line,email,outcome,invitation_id,message");
    assert_eq!(lines.len(), 6, "{first}");
    assert!(lines[1].starts_with("2,ann@example.com,invited,0"), "{first}");
    assert!(lines[2].starts_with("3,not-an-address,invalid_email,,"), "{first}");
    assert!(lines[3].starts_with("4,Ann@Example.com,duplicate_in_file,,"), "{first}");
    assert!(lines[4].starts_with("5,bob@example.com,invited,0"), "{first}");
    assert!(
        lines[5].starts_with("6,cy@example.com,unknown_roles,,") || lines[5].contains("unknown"),
        "{first}"
    );
    assert!(summary.contains("invited 2"), "{summary}");
    assert_eq!(pending(&base, &key).await, 2);

    // A re-run (after a crash, say) invites nobody again and reports the
    // same outcomes, invitation ids included.
    let (code, _, again) = import("again.csv");
    assert_eq!(code, 2);
    assert_eq!(again, first);
    assert_eq!(pending(&base, &key).await, 2);

    // Exit 0 when every row is invited or already pending (`,` delimiter).
    let good = dir.path().join("good.csv");
    std::fs::write(&good, "email,roles\nann@example.com,editor\ndee@example.com,viewer\n").unwrap();
    let (code, report, _) = invite(&db, &base, &key, &["--file", good.to_str().unwrap()]);
    assert_eq!(code, 0, "{report}");
    assert!(report.contains("ann@example.com,already_pending"), "{report}");
    assert!(report.contains("dee@example.com,invited"), "{report}");

    // Exit 1 when the import cannot go on: a refused key, a missing file.
    let (code, _, err) = invite(&db, &base, "ik_wrong", &["--file", good.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("refused the key"), "{err}");
    let (code, _, err) = invite(&db, &base, &key, &["--file", "/nonexistent.csv"]);
    assert_eq!(code, 1, "{err}");
    stop(server);
}
