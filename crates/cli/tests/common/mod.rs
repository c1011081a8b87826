//! Helpers shared by the binary's test files.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

/// `invitd` on a database, logging warnings only.
pub fn invitd(db: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_invitd"));
    cmd.env("INVITD_DATABASE_URL", db).env("INVITD_LOG", "warn");
    cmd
}

/// Runs a command that must succeed; its standard output.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
