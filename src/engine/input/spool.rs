//! Piped input (`some-command | quarry`, `quarry -`): standard input copied
//! to a file in the cache directory as it arrives, so it can be partitioned
//! and re-read like any file. The first lines are also written to a small
//! file of their own, complete and unchanging, which the explorer shows at
//! once while the rest is still arriving.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use crate::engine::error::{QuarryError, Result};
use crate::engine::input::spec::Format;

/// The first view waits for this many bytes of input...
const FIRST_VIEW_BYTES: usize = 256 * 1024;
/// ...or this long after the first byte, whichever comes first.
const FIRST_VIEW_WAIT: Duration = Duration::from_millis(100);
/// Bytes read from the pipe at a time (at most).
const READ_BYTES: usize = 1 << 20;

/// Standard input, spooling to `path`. Both files are removed when this is
/// dropped: piped data lives for the session (write a result to keep it).
pub struct Spool {
    /// The whole input, once [`wait`](Self::wait) returns.
    pub path: PathBuf,
    /// The first complete lines (`None` when the whole input arrived in
    /// the first view's time: `path` is then complete already).
    pub head: Option<PathBuf>,
    pub format: Format,
    done: Option<Receiver<Result<u64>>>,
}

impl Spool {
    /// Start reading `input` (standard input) into the cache directory
    /// `dir`. Returns once the first view is ready: enough lines arrived,
    /// or the input ended, or a short wait after its first byte passed.
    /// `format`: what the user said the input is; else it is sniffed from
    /// the first bytes (Parquet's magic, a JSON object, else CSV).
    pub fn start(
        mut input: impl Read + Send + 'static,
        dir: &Path,
        format: Option<Format>,
    ) -> Result<Spool> {
        std::fs::create_dir_all(dir).map_err(|e| QuarryError::io(dir, e))?;
        // Reads block for as long as the producer is silent: a thread of
        // their own, so the first view can be cut on time.
        let (chunks_tx, chunks) = channel::<Result<Vec<u8>>>();
        std::thread::spawn(move || loop {
            let mut buf = vec![0u8; READ_BYTES];
            match read_some(&mut input, &mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    buf.truncate(n);
                    if chunks_tx.send(Ok(buf)).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    let _ = chunks_tx.send(Err(e));
                    return;
                }
            }
        });
        let mut first = Vec::new();
        let mut ended = false;
        let mut deadline: Option<Instant> = None;
        while first.len() < FIRST_VIEW_BYTES {
            let next = match deadline {
                None => chunks.recv().map_err(|_| ()),
                Some(d) => match chunks.recv_timeout(d.saturating_duration_since(Instant::now())) {
                    Ok(c) => Ok(c),
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => break,
                    Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Err(()),
                },
            };
            match next {
                Ok(chunk) => first.extend_from_slice(&chunk?),
                Err(()) => {
                    ended = true;
                    break;
                }
            }
            deadline.get_or_insert_with(|| Instant::now() + FIRST_VIEW_WAIT);
        }
        if first.is_empty() {
            return Err(QuarryError::Usage(
                "standard input is empty: pipe data into quarry (some-command | quarry), or name a file"
                    .into(),
            ));
        }
        let format = format.unwrap_or_else(|| sniff(&first));
        let stem = format!(
            "stdin-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        );
        let ext = format.name();
        let path = dir.join(format!("{stem}.{ext}"));
        let mut file = std::fs::File::create(&path).map_err(|e| QuarryError::io(&path, e))?;
        file.write_all(&first)
            .map_err(|e| QuarryError::io(&path, e))?;
        if ended {
            return Ok(Spool {
                path,
                head: None,
                format,
                done: None,
            });
        }
        // The first view: whole lines only (a binary format has none to
        // cut at, and waits for the end).
        let head = match first.iter().rposition(|&b| b == b'\n') {
            Some(end) if format != Format::Parquet && format != Format::Ipc => {
                let head = dir.join(format!("{stem}.head.{ext}"));
                std::fs::write(&head, &first[..=end]).map_err(|e| QuarryError::io(&head, e))?;
                Some(head)
            }
            _ => None,
        };
        let (tx, rx) = channel();
        let target = path.clone();
        let mut received = first.len() as u64;
        std::thread::spawn(move || {
            let copied = (|| {
                for chunk in chunks {
                    let chunk = chunk?;
                    file.write_all(&chunk)
                        .map_err(|e| QuarryError::io(&target, e))?;
                    received += chunk.len() as u64;
                }
                file.sync_data().map_err(|e| QuarryError::io(&target, e))?;
                Ok(received)
            })();
            let _ = tx.send(copied);
        });
        Ok(Spool {
            path,
            head,
            format,
            done: Some(rx),
        })
    }

    /// Wait for the input to end; the bytes received in all.
    pub fn wait(&mut self) -> Result<u64> {
        match self.done.take() {
            None => std::fs::metadata(&self.path)
                .map(|m| m.len())
                .map_err(|e| QuarryError::io(&self.path, e)),
            Some(rx) => rx.recv().unwrap_or_else(|_| {
                Err(QuarryError::Engine(
                    "the thread reading standard input stopped".into(),
                ))
            }),
        }
    }

    /// Whether the input has ended (`Some`: how; never blocks).
    pub fn poll(&mut self) -> Option<Result<u64>> {
        let got = self.done.as_ref()?.try_recv().ok()?;
        self.done = None;
        Some(got)
    }

    /// The end of the input, to wait for elsewhere (`None`: it has ended,
    /// or another caller took it).
    pub fn take_end(&mut self) -> Option<Receiver<Result<u64>>> {
        self.done.take()
    }

    /// The file to show first: the head while the rest arrives.
    pub fn first_view(&self) -> &Path {
        self.head.as_deref().unwrap_or(&self.path)
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        if let Some(h) = &self.head {
            let _ = std::fs::remove_file(h);
        }
    }
}

fn read_some(input: &mut impl Read, buf: &mut [u8]) -> Result<usize> {
    loop {
        match input.read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(QuarryError::Usage(format!(
                    "cannot read standard input: {e}"
                )))
            }
        }
    }
}

/// What the first bytes of piped input look like: Parquet and Arrow by
/// their magic, JSON lines by a leading object, else CSV (whose delimiter
/// the CSV sniffer finds, tabs included).
pub fn sniff(first: &[u8]) -> Format {
    if first.starts_with(b"PAR1") {
        return Format::Parquet;
    }
    if first.starts_with(b"ARROW1") {
        return Format::Ipc;
    }
    let text = first.strip_prefix(b"\xef\xbb\xbf").unwrap_or(first);
    match text.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => Format::Ndjson,
        _ => Format::Csv,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out `parts`, pausing `gap` before each after the
    /// first: a slow producer on the other end of a pipe.
    struct Trickle {
        parts: std::collections::VecDeque<Vec<u8>>,
        gap: Duration,
        started: bool,
    }

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let Some(part) = self.parts.pop_front() else {
                return Ok(0);
            };
            if std::mem::replace(&mut self.started, true) {
                std::thread::sleep(self.gap);
            }
            let n = part.len().min(buf.len());
            buf[..n].copy_from_slice(&part[..n]);
            if n < part.len() {
                self.parts.push_front(part[n..].to_vec());
            }
            Ok(n)
        }
    }

    #[test]
    fn sniffs_formats_from_the_first_bytes() {
        assert_eq!(sniff(b"PAR1...."), Format::Parquet);
        assert_eq!(sniff(b"  {\"a\": 1}\n"), Format::Ndjson);
        assert_eq!(sniff(b"\xef\xbb\xbfa,b\n1,2\n"), Format::Csv);
        assert_eq!(sniff(b"a\tb\n1\t2\n"), Format::Csv);
    }

    #[test]
    fn a_short_input_is_one_complete_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::start(&b"a,b\n1,2\n"[..], dir.path(), None).unwrap();
        assert!(spool.head.is_none());
        assert_eq!(spool.wait().unwrap(), 8);
        assert_eq!(std::fs::read(&spool.path).unwrap(), b"a,b\n1,2\n");
        assert!(spool.path.extension().is_some_and(|e| e == "csv"));
        let path = spool.path.clone();
        drop(spool);
        assert!(!path.exists(), "removed with the session");
    }

    #[test]
    fn a_slow_input_shows_whole_first_lines_then_all_of_it() {
        let dir = tempfile::tempdir().unwrap();
        let trickle = Trickle {
            parts: vec![b"a,b\n1,2\n3,".to_vec(), b"4\n".to_vec(), b"5,6\n".to_vec()].into(),
            gap: Duration::from_millis(150),
            started: false,
        };
        let t0 = Instant::now();
        let mut spool = Spool::start(trickle, dir.path(), None).unwrap();
        assert!(
            t0.elapsed() < Duration::from_millis(140),
            "{:?}",
            t0.elapsed()
        );
        let head = spool.head.clone().expect("a first view");
        assert_eq!(std::fs::read(&head).unwrap(), b"a,b\n1,2\n");
        assert_eq!(spool.first_view(), head.as_path());
        assert!(spool.poll().is_none(), "still arriving");
        assert_eq!(spool.wait().unwrap(), 16);
        assert_eq!(std::fs::read(&spool.path).unwrap(), b"a,b\n1,2\n3,4\n5,6\n");
    }

    #[test]
    fn empty_input_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let err = Spool::start(&b""[..], dir.path(), None).err().unwrap();
        assert!(err.to_string().contains("standard input is empty"), "{err}");
    }
}
