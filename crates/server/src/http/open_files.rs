//! The open-files limit: raised at start, and what it leaves for
//! connections.

/// Raises this process's soft limit on open files to its hard limit, so
/// the connection cap, not the descriptor limit, is what bounds
/// connections. Returns the soft limit in force afterwards.
#[cfg(unix)]
#[allow(clippy::unnecessary_cast)] // rlim_t is u64 on Linux, not everywhere
pub fn raise_open_files_limit() -> Option<u64> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes into the struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return None;
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
        // SAFETY: setrlimit reads the struct we own.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            tracing::info!(
                from = limit.rlim_cur as u64,
                to = limit.rlim_max as u64,
                "raised the open files limit"
            );
            return Some(limit.rlim_max as u64);
        }
        tracing::info!(
            soft = limit.rlim_cur as u64,
            hard = limit.rlim_max as u64,
            "could not raise the open files limit"
        );
    }
    Some(limit.rlim_cur as u64)
}

#[cfg(not(unix))]
pub fn raise_open_files_limit() -> Option<u64> {
    None
}

/// The current soft limit on open files, if known.
#[cfg(unix)]
#[allow(clippy::unnecessary_cast)] // rlim_t is u64 on Linux, not everywhere
pub fn open_files_limit() -> Option<u64> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes into the struct we own.
    (unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0)
        .then_some(limit.rlim_cur as u64)
}

#[cfg(not(unix))]
pub fn open_files_limit() -> Option<u64> {
    None
}

/// Descriptors kept back from the connection cap for the database pool,
/// SMTP and webhook clients, templates and logs.
const RESERVED_FILES: u64 = 256;

/// The connection cap in force: the configured one, lowered so that
/// accepting never runs out of file descriptors.
pub fn effective_max_connections(configured: usize) -> usize {
    let Some(files) = open_files_limit() else {
        return configured.max(1);
    };
    let room = usize::try_from(files.saturating_sub(RESERVED_FILES).max(16)).unwrap_or(usize::MAX);
    if configured > room {
        tracing::warn!(
            configured,
            open_files_limit = files,
            using = room,
            "INVITD_HTTP_MAX_CONNECTIONS is above what the open files limit allows; lowered"
        );
        room
    } else {
        configured.max(1)
    }
}
