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
}

#[derive(Default)]
struct BoundaryIndex {
    /// `parity[k]`: odd number of quote bytes in block k.
    parity: Vec<bool>,
    /// `starts[k]`: the first record start at or after block k's first byte.
    starts: Vec<Option<u64>>,
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
            let in_quote = self.parity_before(grammar, blocksize, k)?;
            self.scan_for_start(grammar, cut, in_quote)?
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
            let (piece, readers) = if remote {
                (Self::REMOTE_PARITY_PIECE, 8)
            } else {
                let cores = std::thread::available_parallelism().map(|n| n.get());
                (Self::PARITY_PIECE, cores.unwrap_or(1))
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
                                let mut odd = false;
                                let mut at = start;
                                while at < end {
                                    let next = (at + piece).min(end);
                                    self.read_range_into(at, next, &mut data)?;
                                    odd ^= grammar.quote_count(&data) % 2 == 1;
                                    at = next;
                                }
                                out.push((b, odd));
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
        let mut len: u64 = 64 * 1024;
        loop {
            let win_end = (cut + len).min(self.size);
            let data = self.read_range(win_start, win_end)?;
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
