//! The process groups of live plugin processes, so every way the host ends also ends them: a
//! dropped or timed-out plugin has its group killed by its owner, and SIGINT/SIGTERM to the host
//! kill every registered group before the host exits ([`exit_on_interrupt`]).
//!
//! Each plugin process leads its own group (pgid = pid), so the group also holds whatever the
//! plugin started itself (worker processes, a shell's children).

use std::sync::atomic::{AtomicI32, Ordering};

/// Room for this many live plugin processes; a suite has a few. A process that finds no free
/// slot is still killed on drop and on timeout, only not by the signal handler.
const SLOTS: usize = 256;

/// Process group ids of live plugin processes (0 = free slot). Atomics, because the signal
/// handler reads them and may take no lock.
static GROUPS: [AtomicI32; SLOTS] = [const { AtomicI32::new(0) }; SLOTS];

/// Records the group `pgid` (a plugin's pid) for the signal handler.
pub(crate) fn register(pgid: u32) {
    let Ok(pgid) = i32::try_from(pgid) else {
        return;
    };
    let _ = GROUPS.iter().find(|slot| {
        slot.compare_exchange(0, pgid, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    });
}

/// Forgets the group `pgid` (before its leader is reaped, so the id cannot have been reused).
pub(crate) fn unregister(pgid: u32) {
    let Ok(pgid) = i32::try_from(pgid) else {
        return;
    };
    for slot in &GROUPS {
        let _ = slot.compare_exchange(pgid, 0, Ordering::SeqCst, Ordering::SeqCst);
    }
}

/// Kills every process of the group `pgid` (SIGKILL); a group that is already gone is fine.
pub(crate) fn kill(pgid: u32) {
    #[cfg(unix)]
    if let Ok(pgid) = i32::try_from(pgid) {
        // SAFETY: kill(2) with a negative pid signals that group; no memory is involved.
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
    }
    #[cfg(not(unix))]
    {
        // No process groups: end the process tree instead.
        let _ = std::process::Command::new("taskkill")
            .args(["/F", "/T", "/PID", &pgid.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
}

/// Installs handlers for SIGINT and SIGTERM that kill every live plugin process group, then exit
/// the process with the conventional status 128 + signal (130 for SIGINT, 143 for SIGTERM).
///
/// Plugins run in their own process groups, so a Ctrl-C at the terminal no longer reaches them
/// directly; a program hosting plugins (the harness) calls this once at start. Nothing happens on
/// platforms without these signals.
pub fn exit_on_interrupt() -> std::io::Result<()> {
    #[cfg(unix)]
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: a zeroed sigaction is a valid "no flags, empty mask" value; the handler only
        // makes async-signal-safe calls (atomic loads, kill, _exit).
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_interrupt as extern "C" fn(libc::c_int) as usize;
            libc::sigemptyset(&mut action.sa_mask);
            if libc::sigaction(signal, &action, std::ptr::null_mut()) != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
    }
    Ok(())
}

#[cfg(unix)]
extern "C" fn on_interrupt(signal: libc::c_int) {
    for slot in &GROUPS {
        let pgid = slot.load(Ordering::SeqCst);
        if pgid > 0 {
            // SAFETY: kill(2) is async-signal-safe.
            unsafe { libc::kill(-pgid, libc::SIGKILL) };
        }
    }
    // SAFETY: _exit(2) is async-signal-safe; exit(3) (atexit handlers, stdio locks) is not.
    unsafe { libc::_exit(128 + signal) }
}
