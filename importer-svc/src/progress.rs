//! A progress bar for people watching a run at a terminal; nothing at all otherwise, so logs
//! collected from a CronJob or a daemon stay clean.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar over `total` items, drawn on stderr when `wanted` and stderr is a terminal.
    pub fn new(total: usize, wanted: bool) -> Self {
        let total = u64::try_from(total).unwrap_or(u64::MAX);
        let bar = if wanted && std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            if let Ok(style) =
                ProgressStyle::with_template("{spinner} {msg} [{bar:40}] {pos}/{len} ({eta} left)")
            {
                bar.set_style(style.progress_chars("=> "));
            }
            bar
        } else {
            ProgressBar::hidden()
        };
        Self { bar }
    }

    pub fn set_message(&self, message: &'static str) {
        self.bar.set_message(message);
    }

    pub fn advance(&self, items: usize) {
        self.bar.inc(u64::try_from(items).unwrap_or(u64::MAX));
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
