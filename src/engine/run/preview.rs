//! head / take: the rows a user sees at once. head reads only the partitions
//! (and within the first, only the bytes) it needs; parsed partitions are
//! cached for the interactive session.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use polars::prelude::*;

use crate::engine::error::{QuarryError, Result};
use crate::engine::input::records::Grammar;
use crate::engine::input::source::{PartitionKind, Source};
use crate::engine::run::exec::CancelToken;

/// First window read for a head, grown 8x until enough rows come out.
const HEAD_WINDOW: u64 = 64 * 1024;

/// Leading rows of the first partition a row-by-row pipeline is previewed
/// on before that partition is read whole: a filter that keeps enough of
/// them shows at once instead of after a full partition's parse.
const STEP_WINDOWS: [usize; 3] = [2_000, 20_000, 200_000];

/// The leading windows kept once read (a few MiB at most): every later
/// step edit previews on them without reading or decoding the source again.
const KEPT_WINDOW_ROWS: usize = 20_000;

/// The most a text source's first step window may hold in memory for the
/// first screen to read it too.
const NARROW_WINDOW_BYTES: usize = 4 << 20;

pub struct Previewer {
    source: Arc<Source>,
    cache: Mutex<HashMap<usize, DataFrame>>,
    /// The first partition's leading rows read for step previews, by
    /// window size.
    leading: Mutex<HashMap<usize, DataFrame>>,
}

impl Previewer {
    pub fn new(source: Arc<Source>) -> Previewer {
        Previewer {
            source,
            cache: Mutex::new(HashMap::new()),
            leading: Mutex::new(HashMap::new()),
        }
    }

    pub fn source(&self) -> &Arc<Source> {
        &self.source
    }

    /// Whether partition `index` has been read whole (and is kept).
    pub fn is_cached(&self, index: usize) -> bool {
        self.cache.lock().unwrap().contains_key(&index)
    }

    /// A fully parsed partition, from the cache when it is there.
    pub fn partition(&self, index: usize) -> Result<DataFrame> {
        if let Some(df) = self.cache.lock().unwrap().get(&index) {
            return Ok(df.clone());
        }
        let df = self.source.read_partition(index)?;
        self.cache.lock().unwrap().insert(index, df.clone());
        Ok(df)
    }

    /// The first `n` rows, in order.
    pub fn head(&self, n: usize) -> Result<DataFrame> {
        let mut out: Option<DataFrame> = None;
        let mut have = 0;
        for p in &self.source.partitions {
            if have >= n && out.is_some() {
                break;
            }
            let need = n - have;
            let cached = self.cache.lock().unwrap().get(&p.index).cloned();
            let df = match cached {
                Some(df) => df.head(Some(need)),
                None if p.index == 0 && need <= STEP_WINDOWS[0] => self.first_screen(need)?,
                None => self.partition_head(p.index, need)?,
            };
            have += df.height();
            match &mut out {
                None => out = Some(df),
                Some(acc) => {
                    acc.vstack_mut(&df)?;
                }
            }
        }
        let df = out.unwrap_or_else(|| DataFrame::empty_with_schema(&self.source.schema));
        Ok(df.head(Some(n)))
    }

    /// At most `need` leading rows of one partition, reading as little as
    /// possible: a window that grows until it holds enough complete records.
    fn partition_head(&self, index: usize, need: usize) -> Result<DataFrame> {
        let src = &*self.source;
        let p = &src.partitions[index];
        let file = &src.files[p.file];
        match &p.kind {
            PartitionKind::Block { block, .. } => {
                let grammar = src.grammar();
                let start = file.record_start(&grammar, src.spec.blocksize, *block)?;
                let cut = ((*block as u64 + 1) * src.spec.blocksize).min(file.size);
                let mut len = HEAD_WINDOW;
                while start + len < cut {
                    let bytes = file.read_range(start, start + len)?;
                    let end = complete_prefix(&grammar, &bytes);
                    if end > 0 {
                        let df = crate::engine::input::parse::parse_bytes(
                            src,
                            p,
                            &bytes[..end],
                            start,
                            start == 0,
                            None,
                        )?;
                        if df.height() >= need {
                            return Ok(df.head(Some(need)));
                        }
                    }
                    len *= 8;
                }
                Ok(self.partition(index)?.head(Some(need)))
            }
            PartitionKind::Whole if file.is_compressed() => {
                let mut len = HEAD_WINDOW as usize;
                loop {
                    let (bytes, complete) = file.decompress_prefix(len)?;
                    let grammar = src.grammar();
                    let end = if complete {
                        bytes.len()
                    } else {
                        complete_prefix(&grammar, &bytes)
                    };
                    if end > 0 || complete {
                        let df = crate::engine::input::parse::parse_bytes(
                            src,
                            p,
                            &bytes[..end],
                            0,
                            true,
                            None,
                        )?;
                        if df.height() >= need || complete {
                            return Ok(df.head(Some(need)));
                        }
                    }
                    len *= 8;
                }
            }
            // Only the leading rows: polars reads the first row group's
            // pages up to them, not the whole run of row groups, each
            // column's pages on a core of its own.
            PartitionKind::RowGroups {
                row_offset, rows, ..
            } => crate::engine::input::parse::read_parquet(
                src,
                p,
                *row_offset,
                need.min(*rows),
                None,
                crate::engine::input::parse::ParquetCores::All,
            ),
            PartitionKind::Whole => Ok(self.partition(index)?.head(Some(need))),
        }
    }

    /// `n` rows sampled uniformly from up to three random partitions,
    /// reproducible for a given seed, in file order.
    pub fn take(&self, n: usize, seed: u64) -> Result<DataFrame> {
        let parts = self.source.partitions.len();
        let mut rng = SplitMix64(seed ^ 0x9E37_79B9_7F4A_7C15);
        let mut chosen: Vec<usize> = (0..parts).collect();
        // Partial Fisher-Yates: the first k are a uniform sample.
        let k = parts.min(3);
        for i in 0..k {
            let j = i + (rng.next_u64() % (parts - i) as u64) as usize;
            chosen.swap(i, j);
        }
        let mut chosen = chosen[..k].to_vec();
        chosen.sort_unstable();
        let mut pool: Option<DataFrame> = None;
        for idx in chosen {
            let df = self.partition(idx)?;
            match &mut pool {
                None => pool = Some(df),
                Some(acc) => {
                    acc.vstack_mut(&df)?;
                }
            }
        }
        let pool = pool.unwrap_or_else(|| DataFrame::empty_with_schema(&self.source.schema));
        let total = pool.height();
        if total <= n {
            return Ok(pool);
        }
        let mut rows: Vec<IdxSize> = (0..total as IdxSize).collect();
        for i in 0..n {
            let j = i + (rng.next_u64() % (total - i) as u64) as usize;
            rows.swap(i, j);
        }
        let mut picked = rows[..n].to_vec();
        picked.sort_unstable();
        let idx = IdxCa::from_vec("idx".into(), picked);
        Ok(pool.take(&idx)?)
    }
}

/// Length of the complete records at the start of `bytes` (which begins at a
/// record start); 0 when not even one record is complete.
fn complete_prefix(grammar: &Grammar, bytes: &[u8]) -> usize {
    let recs = grammar.records(bytes);
    if recs.len() <= 1 {
        return 0;
    }
    recs[recs.len() - 1].0
}

/// A tiny, seedable generator (SplitMix64): reproducible samples without a
/// dependency.
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Rows after a pipeline of steps, for the interactive preview.
pub struct StepPreview {
    pub frame: DataFrame,
    /// A blocking step ran on the first partition only.
    pub partial: bool,
    pub partitions_read: usize,
}

impl Previewer {
    /// `rows` rows after `steps`: row-local pipelines read partitions in
    /// order (or a random few for a take) until enough rows come out; a
    /// pipeline with a blocking step runs on the first partition and is
    /// labelled partial. Parsed partitions come from the cache.
    pub fn preview_steps(
        &self,
        steps: &[crate::engine::recipe::Step],
        joins: &crate::engine::steps::apply::JoinTables,
        rows: usize,
        take: Option<u64>,
    ) -> Result<StepPreview> {
        self.preview_steps_until(steps, joins, rows, take, &CancelToken::new())
    }

    /// Like [`preview_steps`](Previewer::preview_steps), stopping between
    /// partitions once `cancel` is set (a newer request superseded this one).
    pub fn preview_steps_until(
        &self,
        steps: &[crate::engine::recipe::Step],
        joins: &crate::engine::steps::apply::JoinTables,
        rows: usize,
        take: Option<u64>,
        cancel: &CancelToken,
    ) -> Result<StepPreview> {
        let check = || {
            if cancel.is_cancelled() {
                Err(QuarryError::Cancelled)
            } else {
                Ok(())
            }
        };
        check()?;
        if steps.is_empty() {
            let frame = match take {
                Some(seed) => self.take(rows, seed)?,
                None => self.head(rows)?,
            };
            return Ok(StepPreview {
                frame,
                partial: false,
                partitions_read: 1,
            });
        }
        let plan = crate::engine::plan::lower::plan(steps, |_| 0)?;
        let order: Vec<usize> = match take {
            Some(seed) => {
                let mut rng = SplitMix64(seed ^ 0x5EED);
                let n = self.source.partitions.len();
                let mut idx: Vec<usize> = (0..n).collect();
                for i in 0..n.min(3) {
                    let j = i + (rng.next_u64() % (n - i) as u64) as usize;
                    idx.swap(i, j);
                }
                idx.truncate(n.min(3));
                idx
            }
            None => (0..self.source.partitions.len()).collect(),
        };
        // A `persist` step among the row-local steps: partitions a compute
        // kept are read from the cache and only the steps after it run.
        let persisted = plan
            .map_steps
            .iter()
            .rposition(|(_, s)| matches!(s, crate::engine::recipe::Step::Persist {}))
            .map(|k| {
                let i = plan.map_steps[k].0;
                (
                    i,
                    crate::engine::run::persist::PersistStore::for_prefix(
                        &self.source,
                        &steps[..=i],
                    ),
                )
            });
        let run_partition = |p: usize| -> Result<DataFrame> {
            check()?;
            if let Some((i, store)) = &persisted {
                if store.has(p) {
                    let kept = store.load(p)?;
                    let rest = crate::engine::steps::apply::apply_steps(
                        kept.lazy(),
                        i + 1,
                        &steps[i + 1..],
                        joins,
                    )?;
                    return crate::engine::frames::collect(rest);
                }
            }
            let df = self.partition(p)?;
            crate::engine::frames::collect(crate::engine::steps::apply::apply_steps(
                df.lazy(),
                0,
                steps,
                joins,
            )?)
        };
        if plan.blocking.is_some() {
            let first = order.first().copied().unwrap_or(0);
            let frame = run_partition(first)?;
            return Ok(StepPreview {
                frame: frame.head(Some(rows)),
                partial: self.source.partitions.len() > 1,
                partitions_read: 1,
            });
        }
        if take.is_none() && persisted.is_none() {
            if let Some(frame) = self.preview_on_leading_rows(steps, joins, rows, &check)? {
                return Ok(StepPreview {
                    frame,
                    partial: false,
                    partitions_read: 1,
                });
            }
        }
        let mut out: Option<DataFrame> = None;
        let mut read = 0;
        for p in order {
            let df = run_partition(p)?;
            read += 1;
            match &mut out {
                None => out = Some(df),
                Some(acc) => {
                    acc.vstack_mut(&df)?;
                }
            }
            if out.as_ref().is_some_and(|d| d.height() >= rows) {
                break;
            }
        }
        let frame = match out {
            Some(df) => df.head(Some(rows)),
            None => DataFrame::empty(),
        };
        Ok(StepPreview {
            frame,
            partial: false,
            partitions_read: read,
        })
    }
}

impl Previewer {
    /// The first `rows` results of `steps` from the leading rows of the
    /// first partition, when they hold that many (`None`: read it whole).
    /// Exact: the steps map each row on its own and keep the order, so the
    /// first results of a prefix are the first results of the file.
    fn preview_on_leading_rows(
        &self,
        steps: &[crate::engine::recipe::Step],
        joins: &crate::engine::steps::apply::JoinTables,
        rows: usize,
        check: &dyn Fn() -> Result<()>,
    ) -> Result<Option<DataFrame>> {
        let cached = self.cache.lock().unwrap().contains_key(&0);
        // A first file whose columns drifted is conformed only by a whole
        // read (missing columns added as nulls, in the source's order).
        let drifted = self
            .source
            .partitions
            .first()
            .is_some_and(|p| self.source.drift_of(p.file).is_some());
        if cached || drifted || self.source.partitions.is_empty() || !row_by_row(steps) {
            return Ok(None);
        }
        for window in STEP_WINDOWS {
            check()?;
            let leading = self.leading_rows(window)?;
            let got = crate::engine::frames::collect(crate::engine::steps::apply::apply_steps(
                leading.clone().lazy(),
                0,
                steps,
                joins,
            )?)?;
            if got.height() >= rows {
                return Ok(Some(got.head(Some(rows))));
            }
            if leading.height() < window {
                break; // the whole partition gave too few
            }
        }
        Ok(None)
    }
}

impl Previewer {
    /// The first screen's `need` rows. The step previews' first window is
    /// read (and kept) with them when that is cheap, so the first step
    /// added previews without reading the source again: a columnar source
    /// decodes whole pages, so 2,000 rows cost what 20 do; a text source's
    /// window is read when its rows are narrow (the window a few MiB).
    fn first_screen(&self, need: usize) -> Result<DataFrame> {
        let window = STEP_WINDOWS[0];
        let columnar = matches!(
            self.source.partitions[0].kind,
            PartitionKind::RowGroups { .. }
        );
        if columnar {
            return Ok(self.leading_rows(window)?.head(Some(need)));
        }
        let shown = self.partition_head(0, need)?;
        let row_bytes = shown.estimated_size() / shown.height().max(1);
        if row_bytes * window <= NARROW_WINDOW_BYTES {
            Ok(self.leading_rows(window)?.head(Some(need)))
        } else {
            Ok(shown)
        }
    }

    /// The first partition's leading `window` rows, kept when small.
    fn leading_rows(&self, window: usize) -> Result<DataFrame> {
        if let Some(df) = self.leading.lock().unwrap().get(&window) {
            return Ok(df.clone());
        }
        let df = self.partition_head(0, window)?;
        if window <= KEPT_WINDOW_ROWS {
            self.leading.lock().unwrap().insert(window, df.clone());
        }
        Ok(df)
    }
}

/// Whether every step maps each row on its own, in order, with nothing
/// that looks at other rows (an aggregate in a derived column would see
/// only the leading rows) and no cast step (a later row could fail it).
fn row_by_row(steps: &[crate::engine::recipe::Step]) -> bool {
    use crate::engine::recipe::expr::parse_expr;
    use crate::engine::recipe::Step;
    use crate::engine::steps::distinct_eval::elementwise;
    let plain = |text: &str| parse_expr(text).is_ok_and(|e| elementwise(&e));
    steps.iter().all(|s| match s {
        Step::Filter { expr } => plain(expr),
        Step::WithColumns { columns } => columns.values().all(|e| plain(e)),
        Step::Select { .. } | Step::Drop { .. } | Step::Rename { .. } => true,
        _ => false,
    })
}
