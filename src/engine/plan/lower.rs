//! Recipe -> Plan -> TaskGraph. Row-local steps fuse into one task per
//! partition; the first blocking step splits the graph the way Dask does
//! (chunk per partition, a tree of combines with fan-in `split_every`, one
//! finalize), or gathers when the step cannot be decomposed. Steps after the
//! blocking step run on its (small) output in the last task.

use std::sync::Arc;

use crate::engine::error::Result;
use crate::engine::input::source::{PartitionKind, Source};
use crate::engine::plan::graph::{StageKind, TaskGraph};
use crate::engine::plan::operators::{self, BlockingOperator, Layout};
use crate::engine::recipe::Step;

/// Default fan-in of the combine tree (Dask's `split_every`).
pub const DEFAULT_SPLIT_EVERY: usize = 8;

/// Right sides of joins up to this size on disk are broadcast to every task.
pub const BROADCAST_LIMIT: u64 = 512 * 1024 * 1024;

/// What compute will do, before it is laid out as tasks.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Row-local steps run inside every map task: `(index, step)`.
    pub map_steps: Vec<(usize, Step)>,
    pub blocking: Option<Arc<dyn BlockingOperator>>,
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
        | Step::Unpivot { .. }
        | Step::Unnest { .. }
        | Step::JsonDecode { .. }
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
    let blocking = operators::for_step(i, steps)?;
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
        .map(|b| b.chunk_stage())
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
    let Some(blocking) = &plan.blocking else {
        if !writes_output {
            let s = g.add_stage("concat", StageKind::Concat);
            g.add_task(s, None, maps, 0);
        }
        return g;
    };
    match blocking.layout() {
        Layout::Gather { reason } => {
            let s = g.add_stage("gather", StageKind::Gather);
            g.stages[s].gather_reason = Some(reason);
            g.add_task(s, None, maps, 0);
        }
        Layout::Concat => {
            let s = g.add_stage(blocking.final_stage(), StageKind::Finalize);
            g.add_task(s, None, maps, 0);
        }
        Layout::Tree => {
            let mut level = maps;
            while level.len() > split_every {
                let s = g.add_stage("combine", StageKind::Combine);
                level = level
                    .chunks(split_every)
                    .map(|c| g.add_task(s, None, c.to_vec(), 0))
                    .collect();
            }
            let s = g.add_stage(blocking.final_stage(), StageKind::Finalize);
            g.add_task(s, None, level, 0);
        }
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps(toml: &str) -> Vec<Step> {
        crate::engine::recipe::Recipe::parse(&format!("[source]\npath='x.csv'\n{toml}"))
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
        let b = p.blocking.as_ref().unwrap();
        assert_eq!((b.first_index(), b.final_stage()), (1, "groupby-agg"));
        assert_eq!(p.post_steps.len(), 1);
    }

    #[test]
    fn median_and_sort_gather_sort_head_is_topk() {
        let s = steps("[[steps]]\nop='group_by'\nkeys=[]\naggs={m='median(a)'}\n");
        assert!(matches!(
            plan(&s, |_| 0).unwrap().blocking.unwrap().layout(),
            Layout::Gather { .. }
        ));
        let s = steps("[[steps]]\nop='sort'\nby='a'\n");
        assert!(matches!(
            plan(&s, |_| 0).unwrap().blocking.unwrap().layout(),
            Layout::Gather { .. }
        ));
        let s = steps("[[steps]]\nop='sort'\nby='a'\ndescending=true\n[[steps]]\nop='head'\nn=5\n");
        let p = plan(&s, |_| 0).unwrap();
        let b = p.blocking.as_ref().unwrap();
        assert_eq!((b.final_stage(), b.last_index()), ("topk-merge", 1));
        assert!(p.post_steps.is_empty());
    }
}
