//! One input file: positioned reads through its byte source, transparent
//! decompression, and the index of record boundaries at block cuts.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use crate::engine::error::{QuarryError, Result};
use crate::engine::input::records::Grammar;
use crate::engine::input::spec::Compression;
use crate::engine::input::storage::{ByteReader, ByteSource, Storage};

pub struct SourceFile {
    pub path: PathBuf,
    /// Size on disk (compressed size for .gz/.zst).
    pub size: u64,
    pub compression: Compression,
    bytes: Arc<dyn ByteSource>,
    /// Known record starts at block cuts and quote parities per block.
    index: Mutex<BoundaryIndex>,
    /// A Parquet file's parsed footer, once read (`parse::parquet_metadata`).
    pub parquet_metadata: std::sync::OnceLock<polars::prelude::FileMetadataRef>,
    /// Resolve quoted-CSV cuts on a guess instead of a parity pass (see
    /// [`SourceFile::guess_cuts`]).
    guessing: std::sync::atomic::AtomicBool,
}

#[derive(Default)]
struct BoundaryIndex {
    /// `parity[k]`: odd number of quote bytes in block k.
    parity: Vec<bool>,
    /// `starts[k]`: the first record start at or after block k's first byte.
    starts: Vec<Option<u64>>,
    /// Some starts were found on the guess that no quoted field spans their
    /// cut, and are not yet checked (`check_guessed_cuts`).
    guessed: bool,
    /// `segment_odd[k]`: odd number of quote bytes in `[starts[k],
    /// starts[k + 1])`, as the reader of block k counted them.
    segment_odd: Vec<Option<bool>>,
}

impl SourceFile {
    /// The same file, sharing its byte access, with a fresh boundary index
    /// (inference over a subset of a source's files reads through these).
    pub fn share(&self) -> SourceFile {
        SourceFile {
            path: self.path.clone(),
            size: self.size,
            compression: self.compression,
            bytes: self.bytes.clone(),
            index: Mutex::new(BoundaryIndex::default()),
            parquet_metadata: std::sync::OnceLock::new(),
            guessing: Default::default(),
        }
    }

    pub fn open(storage: &dyn Storage, path: &Path) -> Result<SourceFile> {
        let bytes = storage.open(path)?;
        Ok(SourceFile {
            path: path.to_path_buf(),
            size: bytes.size(),
            compression: Compression::from_path(path),
            bytes,
            index: Mutex::new(BoundaryIndex::default()),
            parquet_metadata: std::sync::OnceLock::new(),
            guessing: Default::default(),
        })
    }

    /// When the file last changed, for cache keys (`None`: unknown).
    pub fn modified(&self) -> Option<SystemTime> {
        self.bytes.modified()
    }

    /// A reader for polars' Parquet and IPC readers.
    pub fn polars_reader(&self) -> Result<Box<dyn polars::io::mmap::MmapBytesReader>> {
        self.bytes
            .polars_reader()
            .map_err(|e| QuarryError::io(&self.path, e))
    }

    /// Requests in flight give up when `flag` is set (`ByteSource::stop_when`).
    pub fn stop_when(&self, flag: Option<Arc<std::sync::atomic::AtomicBool>>) {
        self.bytes.stop_when(flag);
    }

    /// Whether each read is a network request (see `ByteSource::is_remote`).
    pub fn is_remote(&self) -> bool {
        self.bytes.is_remote()
    }

    /// Bytes fetched over the network so far (0 for a local file).
    pub fn bytes_fetched(&self) -> u64 {
        self.bytes.bytes_fetched()
    }

    /// Several ranges of the raw file at once.
    pub fn read_ranges(&self, ranges: &[std::ops::Range<u64>]) -> Result<Vec<bytes::Bytes>> {
        self.bytes
            .read_ranges(ranges)
            .map_err(|e| QuarryError::io(&self.path, e))
    }

    /// A file-sized image holding only `ranges` (and zeros elsewhere), for
    /// polars' readers, which want the whole file as bytes: an anonymous map
    /// is lazily zeroed, so only the fetched ranges take memory.
    pub fn sparse_image(
        &self,
        ranges: &[std::ops::Range<u64>],
    ) -> Result<std::io::Cursor<memmap2::MmapMut>> {
        let mut image = memmap2::MmapMut::map_anon(self.size.max(1) as usize)
            .map_err(|e| QuarryError::io(&self.path, e))?;
        for (r, bytes) in ranges.iter().zip(self.read_ranges(ranges)?) {
            image[r.start as usize..r.end as usize].copy_from_slice(&bytes);
        }
        Ok(std::io::Cursor::new(image))
    }

    pub fn is_compressed(&self) -> bool {
        self.compression != Compression::None
    }

    /// Read `[start, end)` of the raw file. A short read means the file
    /// shrank since it was opened.
    pub fn read_range(&self, start: u64, end: u64) -> Result<Vec<u8>> {
        let mut buf = Vec::new();
        self.read_range_into(start, end, &mut buf)?;
        Ok(buf)
    }

    /// Append `[start, end)` of the raw file to `buf`.
    pub fn append_range(&self, start: u64, end: u64, buf: &mut Vec<u8>) -> Result<()> {
        let end = end.min(self.size);
        if start >= end {
            return Ok(());
        }
        let keep = buf.len();
        buf.resize(keep + (end - start) as usize, 0);
        let result = self.fill_at(start, &mut buf[keep..]);
        if result.is_err() {
            buf.truncate(keep);
        }
        result
    }

    /// Append `[start, end)` of a partition's bytes, which are read once:
    /// a remote file fetches exactly that range (no read-ahead window past
    /// it, which would fetch the next partition's bytes a second time when
    /// another worker reads that one).
    pub fn append_partition_range(&self, start: u64, end: u64, buf: &mut Vec<u8>) -> Result<()> {
        let end = end.min(self.size);
        if !self.is_remote() || start >= end {
            return self.append_range(start, end, buf);
        }
        let whole = start..end;
        for piece in self.read_ranges(std::slice::from_ref(&whole))? {
            buf.extend_from_slice(&piece);
        }
        Ok(())
    }

    /// Replace `buf` with a partition's bytes `[start, end)`: a local file
    /// reads into the buffer as it is (grown, never zeroed again — a
    /// reused buffer would otherwise be cleared at memory speed per
    /// partition); a remote one fetches exactly that range.
    pub fn read_partition_range(&self, start: u64, end: u64, buf: &mut Vec<u8>) -> Result<()> {
        if self.is_remote() {
            buf.clear();
            self.append_partition_range(start, end, buf)
        } else {
            self.read_range_into(start, end, buf)
        }
    }

    /// Bytes a partition reader asks for at a time: enough per request
    /// that a remote partition is a few large GETs.
    pub fn partition_piece(&self, local: usize) -> usize {
        if self.is_remote() {
            Self::REMOTE_PARITY_PIECE as usize / 2
        } else {
            local
        }
    }

    /// Like [`read_range`], into a reusable buffer.
    pub fn read_range_into(&self, start: u64, end: u64, buf: &mut Vec<u8>) -> Result<()> {
        let end = end.min(self.size);
        if start >= end {
            buf.clear();
            return Ok(());
        }
        let len = (end - start) as usize;
        // Every byte is overwritten by the read: only grow, never re-zero.
        if buf.len() < len {
            buf.resize(len, 0);
        } else {
            buf.truncate(len);
        }
        self.fill_at(start, buf)
    }

    /// Fill `dst` from offset `start`. A short read means the file shrank
    /// since it was opened.
    fn fill_at(&self, start: u64, dst: &mut [u8]) -> Result<()> {
        let mut done = 0;
        while done < dst.len() {
            let n = self
                .bytes
                .read_at(start + done as u64, &mut dst[done..])
                .map_err(|e| QuarryError::io(&self.path, e))?;
            if n == 0 {
                return Err(QuarryError::Parse {
                    path: self.path.clone(),
                    detail: format!(
                        "the file shrank while being read (expected {} bytes, it ends at {}). Is another program writing it? Read a stable copy.",
                        self.size,
                        start + done as u64
                    ),
                });
            }
            done += n;
        }
        Ok(())
    }

    /// The whole decompressed content (compressed files are one partition).
    pub fn decompress_all(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.decoder()?
            .read_to_end(&mut out)
            .map_err(|e| self.decompress_error(e))?;
        Ok(out)
    }

    /// Up to `limit` bytes of decompressed content from the start, and whether
    /// that is all of it.
    pub fn decompress_prefix(&self, limit: usize) -> Result<(Vec<u8>, bool)> {
        let mut out = Vec::new();
        let mut dec = self.decoder()?.take(limit as u64 + 1);
        dec.read_to_end(&mut out)
            .map_err(|e| self.decompress_error(e))?;
        let complete = out.len() <= limit;
        out.truncate(limit);
        Ok((out, complete))
    }

    fn decoder(&self) -> Result<Box<dyn Read + '_>> {
        let raw = std::io::BufReader::with_capacity(
            1 << 20,
            ByteReader::new(Arc::clone(&self.bytes)).take(self.size),
        );
        Ok(match self.compression {
            Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(raw)),
            Compression::Zstd => Box::new(
                zstd::stream::read::Decoder::with_buffer(raw)
                    .map_err(|e| self.decompress_error(e))?,
            ),
            Compression::None => Box::new(raw),
        })
    }

    fn decompress_error(&self, e: std::io::Error) -> QuarryError {
        QuarryError::Decompress {
            path: self.path.clone(),
            codec: match self.compression {
                Compression::Gzip => "gzip".into(),
                Compression::Zstd => "zstd".into(),
                Compression::None => "plain".into(),
            },
            detail: e.to_string(),
        }
    }

    /// Number of blocks of `blocksize` covering the file (at least one).
    pub fn block_count(&self, blocksize: u64) -> usize {
        (self.size.div_ceil(blocksize)).max(1) as usize
    }

    /// Offset of the first record that starts at or after block `k`'s first
    /// byte (`size` when none does). Block 0 always starts at 0. Cached.
    pub fn record_start(&self, grammar: &Grammar, blocksize: u64, k: usize) -> Result<u64> {
        let cut = k as u64 * blocksize;
        if k == 0 {
            return Ok(0);
        }
        if cut >= self.size {
            return Ok(self.size);
        }
        {
            let idx = self.index.lock().unwrap();
            if let Some(Some(s)) = idx.starts.get(k) {
                return Ok(*s);
            }
        }
        let start = if grammar.is_local() {
            let in_quote = false;
            self.scan_for_start(grammar, cut, in_quote)?
        } else if let Grammar::Csv { .. } = grammar {
            let parities_known = self.index.lock().unwrap().parity.len() >= k;
            if self.is_guessing() && !parities_known {
                // The guess: no quoted field holds a line break, so a
                // record starts after the first one past the cut.
                self.index.lock().unwrap().guessed = true;
                self.scan_for_start(&Grammar::Lines, cut, false)?
            } else {
                let in_quote = self.parity_before(grammar, blocksize, k)?;
                self.scan_for_start(grammar, cut, in_quote)?
            }
        } else {
            // A self-overlapping separator: walk records from the previous cut.
            let prev = self.record_start(grammar, blocksize, k - 1)?;
            self.walk_records_to(grammar, prev, cut)?
        };
        // Every later block whose cut lies before `start` (a record longer
        // than a block) has the same first record start: record them all.
        let last = if start >= self.size {
            self.block_count(blocksize)
        } else {
            (start / blocksize) as usize
        };
        let mut idx = self.index.lock().unwrap();
        if idx.starts.len() <= last.max(k) {
            idx.starts.resize(last.max(k) + 1, None);
        }
        for j in k..=last.max(k) {
            if j == k || (j as u64) * blocksize <= start {
                idx.starts[j] = Some(start);
            }
        }
        Ok(start)
    }

    /// The record start of every block `0..=block_count` (the last is the
    /// file size): what another process needs to read any block without
    /// resolving the cuts before it again. The last block is resolved
    /// first, so all quote parities are computed in one parallel pass.
    pub fn record_starts(&self, grammar: &Grammar, blocksize: u64) -> Result<Vec<u64>> {
        let n = self.block_count(blocksize);
        let mut starts = vec![0; n + 1];
        for k in (1..=n).rev() {
            starts[k] = self.record_start(grammar, blocksize, k)?;
        }
        Ok(starts)
    }

    /// Take record starts resolved elsewhere (by [`record_starts`] on the
    /// same file and blocksize).
    pub fn seed_record_starts(&self, starts: &[u64]) {
        let mut idx = self.index.lock().unwrap();
        idx.starts = starts.iter().map(|&s| Some(s)).collect();
    }

    /// From now on (`true`) resolve quoted-CSV cuts on the guess that no
    /// quoted field holds a line break, instead of counting every quote
    /// before each cut. For a remote file the count is a second download of all
    /// of it; the guess costs nothing, and the readers of the partitions
    /// count the quotes of the bytes they read anyway, which is all
    /// [`check_guessed_cuts`](Self::check_guessed_cuts) needs to prove the
    /// guesses right, or to find one wrong.
    pub fn guess_cuts(&self, on: bool) {
        self.guessing.store(on, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn is_guessing(&self) -> bool {
        self.guessing.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// A reader of block `k` read exactly `[start, end)` and counted an odd
    /// (`odd`) number of quote bytes in it. Kept only while the block's
    /// cuts are unchecked guesses and are still `start` and `end`.
    pub fn note_segment_parity(&self, k: usize, start: u64, end: u64, odd: bool) {
        let mut idx = self.index.lock().unwrap();
        if !idx.guessed {
            return;
        }
        let cut_at = |j: usize| -> Option<u64> {
            match j {
                0 => Some(0),
                _ => idx.starts.get(j).copied().flatten(),
            }
        };
        let end_cut = cut_at(k + 1).or((end >= self.size).then_some(self.size));
        if cut_at(k) != Some(start) || end_cut != Some(end) {
            return;
        }
        if idx.segment_odd.len() <= k {
            idx.segment_odd.resize(k + 1, None);
        }
        idx.segment_odd[k] = Some(odd);
    }

    /// Check the guessed cuts resolved so far. A guessed start follows a
    /// line break; it is a record start exactly when that break is outside
    /// quotes, which is when the bytes before it hold an even number of
    /// quote bytes (doubled quotes count two). So the guesses are
    /// all right when every segment between consecutive resolved starts has
    /// an even count: the readers' counts, and a count of any segment no
    /// reader reported. `false`: a guess was wrong; the index is cleared and
    /// guessing is off, so every cut is resolved again exactly.
    pub fn check_guessed_cuts(&self, grammar: &Grammar) -> Result<bool> {
        // Cuts resolved from now on are exact, whatever the answer.
        self.guess_cuts(false);
        let (starts, segments) = {
            let idx = self.index.lock().unwrap();
            if !idx.guessed {
                return Ok(true);
            }
            (idx.starts.clone(), idx.segment_odd.clone())
        };
        // Resolved cuts in order: block 0 starts at 0; a cut past the end
        // resolves to the size without being stored.
        let mut cuts: Vec<(usize, u64)> = vec![(0, 0)];
        cuts.extend(
            starts
                .iter()
                .enumerate()
                .skip(1)
                .filter_map(|(k, s)| s.map(|s| (k, s))),
        );
        let mut odd_before = false;
        for pair in cuts.windows(2) {
            let ((k, from), (j, to)) = (pair[0], pair[1]);
            if to > from {
                let odd = match segments.get(k).copied().flatten() {
                    Some(odd) if j == k + 1 => odd,
                    _ => self.quote_parity(grammar, from, to, &mut Vec::new())?,
                };
                odd_before ^= odd;
            }
            if odd_before {
                self.forget_guessed_cuts();
                return Ok(false);
            }
        }
        let mut idx = self.index.lock().unwrap();
        idx.guessed = false;
        idx.segment_odd.clear();
        Ok(true)
    }

    /// Stop guessing, and clear the index if it holds unchecked guesses.
    pub fn forget_guessed_cuts(&self) {
        self.guess_cuts(false);
        let mut idx = self.index.lock().unwrap();
        if idx.guessed {
            *idx = BoundaryIndex::default();
        }
    }

    /// Whether `[start, end)` holds an odd number of quote bytes, read a
    /// piece at a time into `data`.
    fn quote_parity(
        &self,
        grammar: &Grammar,
        start: u64,
        end: u64,
        data: &mut Vec<u8>,
    ) -> Result<bool> {
        let piece = if self.is_remote() {
            Self::REMOTE_PARITY_PIECE
        } else {
            Self::PARITY_PIECE
        };
        let mut odd = false;
        let mut at = start;
        while at < end {
            let next = (at + piece).min(end);
            self.read_range_into(at, next, data)?;
            odd ^= grammar.quote_count(data) % 2 == 1;
            at = next;
        }
        Ok(odd)
    }

    /// Bytes a parity pass reads at a time (stays in the L2 cache).
    const PARITY_PIECE: u64 = 256 * 1024;
    /// The same for a remote file: one ranged GET each.
    const REMOTE_PARITY_PIECE: u64 = 16 << 20;

    /// Quote parity of `[0, k * blocksize)`, computing missing block parities
    /// (in parallel when there are many).
    fn parity_before(&self, grammar: &Grammar, blocksize: u64, k: usize) -> Result<bool> {
        let known = self.index.lock().unwrap().parity.len();
        if known < k {
            let missing: Vec<usize> = (known..k).collect();
            // A remote file's pass waits on the network more than it counts:
            // more readers, and large pieces (each piece is a request).
            let remote = self.is_remote();
            let readers = if remote {
                8
            } else {
                let cores = std::thread::available_parallelism().map(|n| n.get());
                cores.unwrap_or(1)
            };
            let threads = readers.min(missing.len());
            let results: Vec<Result<Vec<(usize, bool)>>> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..threads)
                    .map(|t| {
                        let missing = &missing;
                        s.spawn(move || {
                            let mut out = Vec::new();
                            // A small reused buffer: reading a whole block into
                            // fresh memory cost more than the counting (page
                            // faults, then a copy into cold memory).
                            let mut data = Vec::new();
                            for &b in missing.iter().skip(t).step_by(threads) {
                                let start = b as u64 * blocksize;
                                let end = (start + blocksize).min(self.size);
                                out.push((b, self.quote_parity(grammar, start, end, &mut data)?));
                            }
                            Ok(out)
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            let mut idx = self.index.lock().unwrap();
            if idx.parity.len() < k {
                let mut fresh = vec![false; k];
                fresh[..idx.parity.len()].copy_from_slice(&idx.parity);
                for r in results {
                    for (b, p) in r? {
                        fresh[b] = p;
                    }
                }
                idx.parity = fresh;
            }
        }
        let idx = self.index.lock().unwrap();
        Ok(idx.parity[..k].iter().fold(false, |acc, &p| acc ^ p))
    }

    /// Find the first record start at or after `cut`, reading a growing
    /// window. A few bytes before the cut are included so the grammar can see
    /// the end of the previous line or separator.
    fn scan_for_start(&self, grammar: &Grammar, cut: u64, in_quote: bool) -> Result<u64> {
        let lookback = match grammar {
            Grammar::Separator(sep) => sep.len() as u64,
            _ => 3,
        }
        .min(cut);
        let win_start = cut - lookback;
        // A remote probe is a request of its own: small, as records are.
        let mut len: u64 = if self.is_remote() { 16 } else { 64 } * 1024;
        loop {
            let win_end = (cut + len).min(self.size);
            // A probe, not a stream: no read-ahead window for a remote file.
            let mut data = Vec::new();
            self.append_partition_range(win_start, win_end, &mut data)?;
            // `in_quote` is the state at the cut, which is offset `lookback`.
            if let Some(p) = grammar.next_record_start(&data, lookback as usize, in_quote) {
                return Ok(win_start + p as u64);
            }
            if win_end >= self.size {
                return Ok(self.size);
            }
            len *= 4;
        }
    }

    fn walk_records_to(&self, grammar: &Grammar, from: u64, cut: u64) -> Result<u64> {
        let mut len: u64 = (cut - from) + 64 * 1024;
        loop {
            let end = (from + len).min(self.size);
            let data = self.read_range(from, end)?;
            let recs = grammar.records(&data);
            // Every start found is exact: separators are matched left to
            // right from a known record start.
            for (s, _) in &recs {
                let abs = from + *s as u64;
                if abs >= cut {
                    return Ok(abs);
                }
            }
            if end >= self.size {
                return Ok(self.size);
            }
            len *= 4;
        }
    }
}

/// Up to `limit` bytes from the start of a file (decompressing if needed),
/// and whether that is the whole content.
pub fn head_bytes(file: &SourceFile, limit: usize) -> Result<(Vec<u8>, bool)> {
    if file.is_compressed() {
        file.decompress_prefix(limit)
    } else {
        let data = file.read_range(0, limit as u64)?;
        let complete = data.len() as u64 >= file.size;
        Ok((data, complete))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::input::storage::memory::MemoryStorage;

    fn file_of(bytes: &[u8]) -> SourceFile {
        let mut storage = MemoryStorage::new();
        storage.insert("t.csv", bytes.to_vec());
        SourceFile::open(&storage, Path::new("t.csv")).unwrap()
    }

    fn exact_starts(bytes: &[u8], grammar: &Grammar, blocksize: u64) -> Vec<u64> {
        file_of(bytes).record_starts(grammar, blocksize).unwrap()
    }

    /// Rows of 20 bytes whose second field is quoted; with `spans`, every
    /// fourth row's quoted field holds a line break.
    fn quoted_rows(rows: usize, spans: bool) -> Vec<u8> {
        let mut out = b"id,text\n".to_vec();
        for i in 0..rows {
            let text = if spans && i % 4 == 1 {
                "ab\ncd,ef"
            } else {
                "abc,def "
            };
            out.extend_from_slice(format!("{i:08},\"{text}\"\n").as_bytes());
        }
        out
    }

    #[test]
    fn guessed_cuts_are_confirmed_when_no_quoted_field_spans_a_line() {
        let bytes = quoted_rows(500, false);
        let grammar = Grammar::Csv { quote: Some(b'"') };
        let file = file_of(&bytes);
        file.guess_cuts(true);
        let guessed = file.record_starts(&grammar, 777).unwrap();
        assert_eq!(guessed, exact_starts(&bytes, &grammar, 777));
        assert!(
            file.index.lock().unwrap().parity.is_empty(),
            "no parity pass"
        );
        assert!(file.check_guessed_cuts(&grammar).unwrap());
        assert!(!file.is_guessing());
        // Confirmed starts stay: nothing is resolved again.
        assert!(!file.index.lock().unwrap().starts.is_empty());
    }

    #[test]
    fn a_wrong_guess_is_found_and_the_cuts_are_resolved_exactly_again() {
        let bytes = quoted_rows(500, true);
        let grammar = Grammar::Csv { quote: Some(b'"') };
        let exact = exact_starts(&bytes, &grammar, 333);
        let file = file_of(&bytes);
        file.guess_cuts(true);
        let guessed = file.record_starts(&grammar, 333).unwrap();
        assert_ne!(guessed, exact, "some cut lands inside a quoted line break");
        assert!(!file.check_guessed_cuts(&grammar).unwrap());
        assert!(!file.is_guessing());
        assert_eq!(file.record_starts(&grammar, 333).unwrap(), exact);
    }

    #[test]
    fn readers_counts_are_used_and_a_wrong_count_fails_the_check() {
        let bytes = quoted_rows(200, false);
        let grammar = Grammar::Csv { quote: Some(b'"') };
        let file = file_of(&bytes);
        file.guess_cuts(true);
        let starts = file.record_starts(&grammar, 500).unwrap();
        // Report every segment even except one reported odd: the check
        // believes the readers rather than reading the bytes again.
        for k in 0..starts.len() - 1 {
            file.note_segment_parity(k, starts[k], starts[k + 1], k == 3);
        }
        assert!(!file.check_guessed_cuts(&grammar).unwrap());
    }

    #[test]
    fn a_segment_noted_for_other_bounds_is_ignored() {
        let bytes = quoted_rows(200, false);
        let grammar = Grammar::Csv { quote: Some(b'"') };
        let file = file_of(&bytes);
        file.guess_cuts(true);
        let starts = file.record_starts(&grammar, 500).unwrap();
        file.note_segment_parity(2, starts[2] + 1, starts[3], true);
        assert!(file.check_guessed_cuts(&grammar).unwrap());
    }

    #[test]
    fn forgetting_unchecked_guesses_clears_them() {
        let bytes = quoted_rows(500, true);
        let grammar = Grammar::Csv { quote: Some(b'"') };
        let file = file_of(&bytes);
        file.guess_cuts(true);
        file.record_starts(&grammar, 333).unwrap();
        file.forget_guessed_cuts();
        assert_eq!(
            file.record_starts(&grammar, 333).unwrap(),
            exact_starts(&bytes, &grammar, 333)
        );
    }
}
