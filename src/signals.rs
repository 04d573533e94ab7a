//! Termination signals (SIGINT, SIGTERM, SIGHUP — an SSH session dropping)
//! turned into a flag the caller polls, so work stops cleanly: partial
//! outputs removed, the terminal restored.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// Call `on_signal` once, from a background thread, when the process is
/// asked to stop. The handlers are installed before this returns: a signal
/// that arrives a moment later must cancel, not kill the process with the
/// default action (which would leave partial output behind).
pub fn on_termination(on_signal: impl FnOnce() + Send + 'static) {
    // Registering is synchronous; only the wait happens on the thread.
    let Ok(mut signals) = Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
        return;
    };
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            on_signal();
        }
    });
}

/// A flag set when a termination signal arrives.
pub fn termination_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let f = Arc::clone(&flag);
    on_termination(move || f.store(true, Ordering::SeqCst));
    flag
}
