//! What a process costs, read from Linux's `/proc`: CPU time and memory.
//! Elsewhere the figures are simply left out of the table.

/// CPU seconds (user and system) a process has used so far.
pub(super) fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; the fields after it are plain.
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the
    // name and state, in clock ticks of 1/100 s (Linux's USER_HZ).
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// Resident and peak resident memory.
pub(super) struct Memory {
    pub rss_mib: f64,
    pub peak_mib: f64,
}

pub(super) fn memory(pid: u32) -> Option<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib = |key: &str| -> Option<f64> {
        let line = status.lines().find(|l| l.starts_with(key))?;
        line[key.len()..].trim().trim_end_matches("kB").trim().parse::<f64>().ok()
    };
    Some(Memory { rss_mib: kib("VmRSS:")? / 1024.0, peak_mib: kib("VmHWM:")? / 1024.0 })
}
