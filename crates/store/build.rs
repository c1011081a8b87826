//! Turns the PostgreSQL variants of the integration tests on when
//! `INVITD_TEST_DATABASE_URL` is set; without it they show as ignored,
//! with the reason.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(pg_tests)");
    println!("cargo::rerun-if-env-changed=INVITD_TEST_DATABASE_URL");
    if std::env::var_os("INVITD_TEST_DATABASE_URL").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=pg_tests");
    }
}
