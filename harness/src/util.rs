//! Small helpers every module uses: atomic file writes and progress on stderr.

use std::io::{IsTerminal, Write};
use std::path::Path;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Writes `bytes` to `path` atomically (creating parent directories).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    // Temporary files are created owner-only; results are meant to be shared and read.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))?;
    }
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Progress of a long step on stderr: an indicatif bar on a terminal; when stderr is a file or
/// a pipe (nohup, a batch job, CI), a plain line at least every [`LOG_INTERVAL`] and at every
/// tenth of the work, since logs are read later and a bar would print nothing. `enabled` false
/// (`--no-progress`) silences both.
pub struct Progress {
    bar: ProgressBar,
    log: Option<std::sync::Mutex<LogState>>,
}

/// Longest silence between two progress lines in a log.
pub const LOG_INTERVAL: std::time::Duration = std::time::Duration::from_secs(15);

struct LogState {
    what: String,
    unit: String,
    started: std::time::Instant,
    last_line: std::time::Instant,
    last_decile: u64,
    message: String,
    /// Position when timing started (a resumed step's rate counts only the new work).
    base: u64,
}

impl Progress {
    /// `template` is indicatif's (terminals); `what` names the work and `unit` its items in log
    /// lines ("run smoke", "image-conditions").
    pub fn new(total: u64, enabled: bool, template: &str, what: &str, unit: &str) -> Progress {
        let bar = ProgressBar::new(total);
        let terminal = std::io::stderr().is_terminal();
        if !enabled || !terminal {
            bar.set_draw_target(ProgressDrawTarget::hidden());
        }
        bar.set_style(
            ProgressStyle::with_template(template)
                .expect("valid template")
                .progress_chars("=> "),
        );
        let now = std::time::Instant::now();
        let log = (enabled && !terminal).then(|| {
            std::sync::Mutex::new(LogState {
                what: what.to_string(),
                unit: unit.to_string(),
                started: now,
                last_line: now,
                last_decile: 0,
                message: String::new(),
                base: 0,
            })
        });
        Progress { bar, log }
    }

    /// Advances by `n`.
    pub fn inc(&self, n: u64) {
        self.bar.inc(n);
        self.maybe_log(false);
    }

    /// Jumps to `pos` (a resumed step).
    pub fn set_position(&self, pos: u64) {
        self.bar.set_position(pos);
        if let Some(log) = &self.log {
            let mut state = log.lock().expect("progress lock");
            state.base = pos;
            state.last_decile = pos * 10 / self.bar.length().unwrap_or(0).max(1);
        }
    }

    /// A short status after the counts (loss, failures so far).
    pub fn set_message(&self, message: String) {
        if let Some(log) = &self.log {
            log.lock().expect("progress lock").message = message.clone();
        }
        self.bar.set_message(message);
    }

    /// Prints a line above the bar, or into the log.
    pub fn println(&self, line: String) {
        if self.log.is_some() {
            eprintln!("{line}");
        } else {
            self.bar.println(line);
        }
    }

    /// Clears the bar; a log gets its final line.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
        self.maybe_log(true);
    }

    fn maybe_log(&self, last: bool) {
        let Some(log) = &self.log else {
            return;
        };
        let mut state = log.lock().expect("progress lock");
        let (pos, len) = (self.bar.position(), self.bar.length().unwrap_or(0).max(1));
        let decile = pos * 10 / len;
        let now = std::time::Instant::now();
        let due = now.duration_since(state.last_line) >= LOG_INTERVAL || decile > state.last_decile;
        if !(due || last) {
            return;
        }
        state.last_line = now;
        state.last_decile = decile;
        let elapsed = now.duration_since(state.started).as_secs_f64();
        let rate = pos.saturating_sub(state.base) as f64 / elapsed.max(1e-9);
        let eta = if rate > 0.0 && pos < len {
            format!(", ETA {}", clock((len - pos) as f64 / rate))
        } else {
            String::new()
        };
        let message = if state.message.is_empty() {
            String::new()
        } else {
            format!(", {}", state.message)
        };
        eprintln!(
            "{}: {pos}/{len} {} ({}%), {rate:.2}/s, elapsed {}{eta}{message}",
            state.what,
            state.unit,
            pos * 100 / len,
            clock(elapsed)
        );
    }
}

/// `1h02m03s`, `4m05s` or `6s`.
fn clock(seconds: f64) -> String {
    let s = seconds.round().max(0.0) as u64;
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, m, sec) => format!("{m}m{sec:02}s"),
        (h, m, sec) => format!("{h}h{m:02}m{sec:02}s"),
    }
}
