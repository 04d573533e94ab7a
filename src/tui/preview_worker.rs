//! One thread runs previews, and the newest request wins: a request that
//! arrives while another is waiting replaces it, and one that arrives while
//! another runs cancels it (the previewer stops at the next partition), so
//! typing fast never piles up work behind the screen. A superseded preview
//! sends nothing.

use std::sync::{Arc, Condvar, Mutex};

use super::effects::{Done, Emit, Work};
use crate::engine::run::exec::CancelToken;

#[derive(Default)]
struct Slot {
    /// The request waiting to run.
    next: Option<Work>,
    /// The token of the request running now.
    running: Option<CancelToken>,
    closed: bool,
}

pub struct PreviewWorker {
    shared: Arc<(Mutex<Slot>, Condvar)>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl PreviewWorker {
    /// Start the worker; each finished preview is handed to `deliver`.
    pub fn start(emit: Emit, deliver: impl Fn(Done) + Send + 'static) -> PreviewWorker {
        let shared: Arc<(Mutex<Slot>, Condvar)> = Arc::default();
        let theirs = Arc::clone(&shared);
        let thread = std::thread::spawn(move || loop {
            let (work, token) = {
                let (lock, ready) = &*theirs;
                let Ok(mut slot) = lock.lock() else { return };
                loop {
                    if slot.closed {
                        return;
                    }
                    if let Some(w) = slot.next.take() {
                        let token = CancelToken::new();
                        slot.running = Some(token.clone());
                        break (w, token);
                    }
                    let Ok(s) = ready.wait(slot) else { return };
                    slot = s;
                }
            };
            let done = work.run(&emit, &token);
            if let Ok(mut slot) = theirs.0.lock() {
                slot.running = None;
            }
            if !token.is_cancelled() {
                deliver(done);
            }
        });
        PreviewWorker {
            shared,
            thread: Some(thread),
        }
    }

    /// Run `work` next, replacing a waiting request and cancelling the
    /// running one.
    pub fn submit(&self, work: Work) {
        let (lock, ready) = &*self.shared;
        if let Ok(mut slot) = lock.lock() {
            if let Some(t) = slot.running.take() {
                t.cancel();
            }
            slot.next = Some(work);
            ready.notify_one();
        }
    }
}

impl Drop for PreviewWorker {
    fn drop(&mut self) {
        let (lock, ready) = &*self.shared;
        if let Ok(mut slot) = lock.lock() {
            slot.closed = true;
            slot.next = None;
            if let Some(t) = slot.running.take() {
                t.cancel();
            }
            ready.notify_one();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::mpsc::channel;
    use std::time::Duration;

    use super::*;
    use crate::app::update::PreviewRequest;
    use crate::app::Msg;
    use crate::engine::recipe::Step;
    use crate::engine::steps::apply::JoinTables;
    use crate::engine::{Previewer, Source, SourceSpec};

    fn preview(previewer: &Arc<Previewer>, request: u64, filter: &str) -> Work {
        Work::Preview {
            previewer: Arc::clone(previewer),
            joins: Arc::new(JoinTables::new()),
            request: PreviewRequest {
                request,
                steps: vec![Step::Filter {
                    expr: filter.into(),
                }],
                rows: 10,
                take: None,
                base: None,
            },
        }
    }

    #[test]
    fn the_newest_request_wins_and_a_superseded_one_sends_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.csv");
        let mut f = std::fs::File::create(&path).unwrap();
        writeln!(f, "a,b").unwrap();
        for i in 0..400_000 {
            writeln!(f, "{i},x{}", i % 7).unwrap();
        }
        drop(f);
        let mut spec = SourceSpec::new(path.to_string_lossy().into_owned());
        spec.blocksize = 64 * 1024;
        let source = Arc::new(Source::open(spec).unwrap());
        assert!(source.partitions.len() > 50);
        let previewer = Arc::new(Previewer::new(source));
        let (tx, rx) = channel();
        let emit: Emit = Arc::new(|_| {});
        let worker = PreviewWorker::start(emit, move |d| {
            let _ = tx.send(d);
        });
        // Matches nothing: it would read every partition.
        worker.submit(preview(&previewer, 1, "a < 0"));
        // Two more at once: the first is cancelled while it runs (it takes
        // far longer than these calls), the second replaces or cancels the
        // next.
        worker.submit(preview(&previewer, 2, "a < 0"));
        worker.submit(preview(&previewer, 3, "a > 5"));
        let Done::Msg(Msg::PreviewDone { request, result }) =
            rx.recv_timeout(Duration::from_secs(60)).unwrap()
        else {
            panic!("not a preview answer")
        };
        assert_eq!(request, 3, "only the newest request answers");
        assert_eq!(result.unwrap().frame.height(), 10);
        drop(worker);
        assert!(rx.try_recv().is_err(), "a superseded preview answered");
    }
}
