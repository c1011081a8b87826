//! How far the import is: a bar on a terminal, a line every few seconds
//! otherwise (a log file, CI).

use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// A progress bar on a terminal, a line every few seconds otherwise.
pub(super) struct Progress {
    bar: Option<indicatif::ProgressBar>,
    total: u64,
    done: std::sync::atomic::AtomicU64,
    last_line: std::sync::Mutex<Instant>,
}

impl Progress {
    pub(super) fn new(total: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(total);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} rows  {per_sec}  ETA {eta}",
            ) {
                bar.set_style(style);
            }
            bar
        });
        Self { bar, total, done: 0.into(), last_line: std::sync::Mutex::new(Instant::now()) }
    }

    pub(super) fn add(&self, n: u64) {
        let done = self.done.fetch_add(n, std::sync::atomic::Ordering::Relaxed) + n;
        match &self.bar {
            Some(bar) => bar.set_position(done),
            None => {
                if let Ok(mut last) = self.last_line.lock()
                    && last.elapsed() >= Duration::from_secs(2)
                {
                    *last = Instant::now();
                    eprintln!("{done}/{} rows", self.total);
                }
            }
        }
    }

    pub(super) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}
