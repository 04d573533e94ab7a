//! Termination signals (SIGINT, SIGTERM, SIGHUP — an SSH session dropping)
//! turned into a flag the caller polls, so work stops cleanly: partial
//! outputs removed, the terminal restored.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Call `on_signal` once, from a background thread, when the process is
/// asked to stop. The handlers are installed before this returns: a signal
/// that arrives a moment later must cancel, not kill the process with the
/// default action (which would leave partial output behind).
pub fn on_termination(on_signal: impl FnOnce() + Send + 'static) {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            drop(ready_tx);
            return;
        };
        rt.block_on(async {
            use tokio::signal::unix::{signal, SignalKind};
            let mut streams: Vec<_> = [
                SignalKind::interrupt(),
                SignalKind::terminate(),
                SignalKind::hangup(),
            ]
            .into_iter()
            .filter_map(|kind| signal(kind).ok())
            .collect();
            let _ = ready_tx.send(());
            drop(ready_tx);
            if streams.is_empty() {
                return std::future::pending::<()>().await;
            }
            let waits = streams.iter_mut().map(|s| Box::pin(s.recv()));
            futures_select_first(waits.collect()).await;
        });
        on_signal();
    });
    // Returns when the thread has registered (or failed to).
    let _ = ready_rx.recv();
}

/// Resolve when the first of `futs` resolves.
async fn futures_select_first<F: std::future::Future + Unpin>(mut futs: Vec<F>) {
    std::future::poll_fn(|cx| {
        for f in futs.iter_mut() {
            if std::pin::Pin::new(f).poll(cx).is_ready() {
                return std::task::Poll::Ready(());
            }
        }
        std::task::Poll::Pending
    })
    .await
}

/// A flag set when a termination signal arrives.
pub fn termination_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let f = Arc::clone(&flag);
    on_termination(move || f.store(true, Ordering::SeqCst));
    flag
}
