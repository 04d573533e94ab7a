//! Termination signals (SIGINT, SIGTERM, SIGHUP — an SSH session dropping)
//! turned into a flag the caller polls, so work stops cleanly: partial
//! outputs removed, the terminal restored.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Call `on_signal` once, from a background thread, when the process is
/// asked to stop.
pub fn on_termination(on_signal: impl FnOnce() + Send + 'static) {
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async {
            use tokio::signal::unix::{signal, SignalKind};
            let mut term = signal(SignalKind::terminate()).ok();
            let mut hup = signal(SignalKind::hangup()).ok();
            let term = async {
                match term.as_mut() {
                    Some(t) => {
                        t.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            let hup = async {
                match hup.as_mut() {
                    Some(h) => {
                        h.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term => {}
                _ = hup => {}
            }
        });
        on_signal();
    });
}

/// A flag set when a termination signal arrives.
pub fn termination_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let f = Arc::clone(&flag);
    on_termination(move || f.store(true, Ordering::SeqCst));
    flag
}
