//! Recipe -> Plan -> TaskGraph. Row-local steps fuse into one task per
//! partition; the first blocking step splits the graph the way Dask does
//! (chunk per partition, a tree of combines with fan-in `split_every`, one
//! finalize), or gathers when the step cannot be decomposed. Steps after the
//! blocking step run on its (small) output in the last task.

use super::agg::AggSpec;
use super::apply::parse_aggs;
use super::error::Result;
use super::graph::{StageKind, TaskGraph};
use super::recipe::Step;
use super::source::{PartitionKind, Source};

/// Default fan-in of the combine tree (Dask's `split_every`).
pub const DEFAULT_SPLIT_EVERY: usize = 8;

/// Right sides of joins up to this size on disk are broadcast to every task.
pub const BROADCAST_LIMIT: u64 = 512 * 1024 * 1024;

#[derive(Debug, Clone)]
pub enum Blocking {
    GroupBy {
        index: usize,
        keys: Vec<String>,
        aggs: Vec<AggSpec>,
    },
    ValueCounts {
        index: usize,
        column: String,
    },
    Unique {
        index: usize,
        columns: Option<Vec<String>>,
    },
    /// `sort` directly followed by `head n`: per-partition top-k, then merge.
    TopK {
        index: usize,
        by: Vec<String>,
        descending: Vec<bool>,
        n: usize,
    },
    Head {
        index: usize,
        n: usize,
    },
    /// Per-column statistics: partial states per partition, merged in a tree.
    Describe {
        index: usize,
        columns: Option<Vec<String>>,
    },
    /// The step at `index` runs once on all rows.
    Gather {
        index: usize,
        reason: String,
    },
}

impl Blocking {
    /// Index of the last step the blocking part consumes.
    pub fn last_index(&self) -> usize {
        match self {
            Blocking::TopK { index, .. } => index + 1,
            Blocking::GroupBy { index, .. }
            | Blocking::ValueCounts { index, .. }
            | Blocking::Unique { index, .. }
            | Blocking::Head { index, .. }
            | Blocking::Describe { index, .. }
            | Blocking::Gather { index, .. } => *index,
        }
    }

    /// Index of the blocking step itself.
    pub fn first_index(&self) -> usize {
        match self {
            Blocking::TopK { index, .. }
            | Blocking::GroupBy { index, .. }
            | Blocking::ValueCounts { index, .. }
            | Blocking::Unique { index, .. }
            | Blocking::Head { index, .. }
            | Blocking::Describe { index, .. }
            | Blocking::Gather { index, .. } => *index,
        }
    }

    fn chunk_name(&self) -> &'static str {
        match self {
            Blocking::GroupBy { .. } => "groupby-chunk",
            Blocking::ValueCounts { .. } => "value-counts-chunk",
            Blocking::Unique { .. } => "unique-chunk",
            Blocking::TopK { .. } => "topk",
            Blocking::Head { .. } => "head",
            Blocking::Describe { .. } => "describe-chunk",
            Blocking::Gather { .. } => "",
        }
    }

    fn final_name(&self) -> &'static str {
        match self {
            Blocking::GroupBy { .. } => "groupby-agg",
            Blocking::ValueCounts { .. } => "value-counts-agg",
            Blocking::Unique { .. } => "unique-agg",
            Blocking::TopK { .. } => "topk-merge",
            Blocking::Head { .. } => "head-concat",
            Blocking::Describe { .. } => "describe-agg",
            Blocking::Gather { .. } => "gather",
        }
    }
}

/// What compute will do, before it is laid out as tasks.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Row-local steps run inside every map task: `(index, step)`.
    pub map_steps: Vec<(usize, Step)>,
    pub blocking: Option<Blocking>,
    /// Steps after the blocking step, run on its output in the last task.
    pub post_steps: Vec<(usize, Step)>,
}

fn is_row_local(step: &Step, join_small: bool) -> bool {
    match step {
        Step::Filter { .. }
        | Step::Select { .. }
        | Step::Drop { .. }
        | Step::Rename { .. }
        | Step::WithColumns { .. }
        | Step::Cast { .. }
        | Step::Parse { .. }
        | Step::Explode { .. }
        | Step::Repartition { .. }
        | Step::Persist {}
        | Step::Disabled { .. } => true,
        Step::Join { .. } => join_small,
        _ => false,
    }
}

/// Split a recipe's steps into map / blocking / post parts.
/// `join_sizes[i]` is the on-disk size of step i's join source, if any.
pub fn plan(steps: &[Step], join_size: impl Fn(usize) -> u64) -> Result<Plan> {
    let mut map_steps = Vec::new();
    let mut i = 0;
    while i < steps.len() && is_row_local(&steps[i], join_size(i) <= BROADCAST_LIMIT) {
        map_steps.push((i, steps[i].clone()));
        i += 1;
    }
    if i == steps.len() {
        return Ok(Plan {
            map_steps,
            blocking: None,
            post_steps: Vec::new(),
        });
    }
    let step = &steps[i];
    let blocking = match step {
        Step::GroupBy { keys, aggs } => {
            let specs = parse_aggs(i, step, aggs)?;
            if let Some(bad) = specs.iter().find(|a| !a.func.decomposable()) {
                Blocking::Gather {
                    index: i,
                    reason: format!(
                        "`{}` ({}) cannot be merged from partial results",
                        bad.name, bad.text
                    ),
                }
            } else {
                Blocking::GroupBy {
                    index: i,
                    keys: keys.clone(),
                    aggs: specs,
                }
            }
        }
        Step::ValueCounts { column } => Blocking::ValueCounts {
            index: i,
            column: column.clone(),
        },
        Step::Unique { columns } => Blocking::Unique {
            index: i,
            columns: columns.clone(),
        },
        Step::Sort { by, descending } => match steps.get(i + 1) {
            Some(Step::Head { n }) => {
                let by = by.to_vec();
                let descending = descending
                    .as_ref()
                    .map(|d| d.expand(by.len()))
                    .unwrap_or_else(|| vec![false; by.len()]);
                Blocking::TopK {
                    index: i,
                    by,
                    descending,
                    n: *n,
                }
            }
            _ => Blocking::Gather {
                index: i,
                reason: "a full sort needs all rows (add a head step after it for a top-k)".into(),
            },
        },
        Step::Head { n } => Blocking::Head { index: i, n: *n },
        Step::Describe { columns } => Blocking::Describe {
            index: i,
            columns: columns.clone(),
        },
        Step::Sql { .. } => Blocking::Gather {
            index: i,
            reason: "free SQL runs on the whole table".into(),
        },
        Step::Join { .. } => Blocking::Gather {
            index: i,
            reason: "the join's right side is too large to broadcast".into(),
        },
        _ => unreachable!("row-local steps are consumed above"),
    };
    let post_steps = steps
        .iter()
        .enumerate()
        .skip(blocking.last_index() + 1)
        .map(|(k, s)| (k, s.clone()))
        .collect();
    Ok(Plan {
        map_steps,
        blocking: Some(blocking),
        post_steps,
    })
}

/// Estimated input bytes of a partition.
pub fn partition_bytes(source: &Source, index: usize) -> u64 {
    let p = &source.partitions[index];
    let f = &source.files[p.file];
    match &p.kind {
        PartitionKind::Block { block, .. } => {
            let start = *block as u64 * source.spec.blocksize;
            (start + source.spec.blocksize)
                .min(f.size)
                .saturating_sub(start)
        }
        PartitionKind::RowGroups { .. } => {
            let n = source
                .partitions
                .iter()
                .filter(|q| q.file == p.file)
                .count() as u64;
            f.size / n.max(1)
        }
        PartitionKind::Whole => f.size,
    }
}

/// Lay a plan out as tasks over the source's partitions.
pub fn lower(source: &Source, plan: &Plan, split_every: usize, writes_output: bool) -> TaskGraph {
    let split_every = split_every.max(2);
    let mut g = TaskGraph::default();
    let mut name = format!("read-{}", source.format);
    for (_, s) in &plan.map_steps {
        if !matches!(s, Step::Repartition { .. } | Step::Disabled { .. }) {
            name.push('+');
            name.push_str(s.op());
        }
    }
    let chunk = plan
        .blocking
        .as_ref()
        .map(Blocking::chunk_name)
        .unwrap_or("");
    if !chunk.is_empty() {
        name.push('+');
        name.push_str(chunk);
    }
    if plan.blocking.is_none() && writes_output {
        name.push_str("+write");
    }
    let map_stage = g.add_stage(name, StageKind::Map);
    let maps: Vec<usize> = (0..source.partitions.len())
        .map(|p| g.add_task(map_stage, Some(p), vec![], partition_bytes(source, p)))
        .collect();
    match &plan.blocking {
        None => {
            if !writes_output {
                let s = g.add_stage("concat", StageKind::Concat);
                g.add_task(s, None, maps, 0);
            }
        }
        Some(Blocking::Gather { index: _, reason }) => {
            let s = g.add_stage("gather", StageKind::Gather);
            g.stages[s].gather_reason = Some(reason.clone());
            g.add_task(s, None, maps, 0);
        }
        Some(Blocking::Head { .. }) => {
            // No tree: the executor stops scheduling once it has n rows.
            let s = g.add_stage("head-concat", StageKind::Finalize);
            g.add_task(s, None, maps, 0);
        }
        Some(b) => {
            let mut level = maps;
            while level.len() > split_every {
                let s = g.add_stage("combine", StageKind::Combine);
                level = level
                    .chunks(split_every)
                    .map(|c| g.add_task(s, None, c.to_vec(), 0))
                    .collect();
            }
            let s = g.add_stage(b.final_name(), StageKind::Finalize);
            g.add_task(s, None, level, 0);
        }
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps(toml: &str) -> Vec<Step> {
        super::super::recipe::Recipe::parse(&format!("[source]\npath='x.csv'\n{toml}"))
            .unwrap()
            .steps
    }

    #[test]
    fn row_local_prefix_then_groupby() {
        let s = steps(
            "[[steps]]\nop='filter'\nexpr='a > 1'\n[[steps]]\nop='group_by'\nkeys=['k']\naggs={s='sum(a)'}\n[[steps]]\nop='sort'\nby='s'\n",
        );
        let p = plan(&s, |_| 0).unwrap();
        assert_eq!(p.map_steps.len(), 1);
        assert!(matches!(
            p.blocking,
            Some(Blocking::GroupBy { index: 1, .. })
        ));
        assert_eq!(p.post_steps.len(), 1);
    }

    #[test]
    fn median_and_sort_gather_sort_head_is_topk() {
        let s = steps("[[steps]]\nop='group_by'\nkeys=[]\naggs={m='median(a)'}\n");
        assert!(matches!(
            plan(&s, |_| 0).unwrap().blocking,
            Some(Blocking::Gather { .. })
        ));
        let s = steps("[[steps]]\nop='sort'\nby='a'\n");
        assert!(matches!(
            plan(&s, |_| 0).unwrap().blocking,
            Some(Blocking::Gather { .. })
        ));
        let s = steps("[[steps]]\nop='sort'\nby='a'\ndescending=true\n[[steps]]\nop='head'\nn=5\n");
        let p = plan(&s, |_| 0).unwrap();
        assert!(matches!(p.blocking, Some(Blocking::TopK { n: 5, .. })));
        assert!(p.post_steps.is_empty());
    }
}
