//! Turns the PostgreSQL variants of the integration tests on when
//! `INVITD_TEST_DATABASE_URL` is set, and the browser tests when
//! `INVITD_BROWSER_TESTS=1`; without them those show as ignored, with the
//! reason.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(pg_tests)");
    println!("cargo::rustc-check-cfg=cfg(browser_tests)");
    println!("cargo::rerun-if-env-changed=INVITD_TEST_DATABASE_URL");
    println!("cargo::rerun-if-env-changed=INVITD_BROWSER_TESTS");
    if std::env::var_os("INVITD_BROWSER_TESTS").is_some_and(|v| v == "1") {
        println!("cargo::rustc-cfg=browser_tests");
    }
    if std::env::var_os("INVITD_TEST_DATABASE_URL").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=pg_tests");
    }
}
