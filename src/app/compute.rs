//! A running (or finished) job as the screen sees it: the task graph, the
//! state of every task, job totals and a throughput history, folded from the
//! executor's event stream. Plain data; `apply` is the only way it changes,
//! so views can be tested from recorded event sequences.

use std::sync::Arc;

use crate::engine::error::Fix;
use crate::engine::plan::graph::TaskGraph;
use crate::engine::recipe::Step;
use crate::engine::run::events::{Event, Progress};

/// Width of one throughput sample.
pub const SAMPLE_MS: u64 = 250;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskState {
    Queued,
    Running,
    Done,
    Failed,
    Cancelled,
}

#[derive(Debug, Clone)]
pub struct TaskInfo {
    pub state: TaskState,
    pub worker: Option<usize>,
    pub start_ms: Option<u64>,
    pub end_ms: Option<u64>,
    pub rows_in: u64,
    pub rows_out: u64,
    pub bytes_read: u64,
    pub error: Option<String>,
    pub fix: Option<Fix>,
}

impl TaskInfo {
    fn new() -> TaskInfo {
        TaskInfo {
            state: TaskState::Queued,
            worker: None,
            start_ms: None,
            end_ms: None,
            rows_in: 0,
            rows_out: 0,
            bytes_read: 0,
            error: None,
            fix: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    /// The job is being prepared (source, plan, graph).
    Preparing,
    Running,
    Finished {
        rows_out: u64,
        elapsed_ms: u64,
    },
    Failed(String),
    Cancelled {
        elapsed_ms: u64,
    },
}

/// What the job is for.
#[derive(Debug, Clone, PartialEq)]
pub enum JobKind {
    /// Compute the result into the Result view.
    Compute,
    /// Stream the result into a file.
    Write { path: String },
    /// Describe, frequencies or a histogram of the pipeline's output.
    Insight(super::insight::Insight),
    /// The distinct values of a pivot's `on` column over all rows; when it
    /// is done, `pivot` (its columns then named) is inserted at step `at`.
    PivotValues {
        pivot: Box<crate::engine::recipe::Step>,
        at: usize,
    },
}

impl JobKind {
    /// What the job is doing, for the status line and the progress view.
    pub fn label(&self) -> String {
        match self {
            JobKind::Compute => "compute".to_string(),
            JobKind::Write { path } => format!("write {path}"),
            JobKind::Insight(i) => i.label(),
            JobKind::PivotValues { pivot, .. } => match pivot.as_ref() {
                crate::engine::recipe::Step::Pivot { on, .. } => {
                    format!("values of {on} for a pivot")
                }
                _ => "values for a pivot".to_string(),
            },
        }
    }
}

/// Per-stage counters for the graph view.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StageCounts {
    pub queued: usize,
    pub running: usize,
    pub done: usize,
    pub failed: usize,
    pub cancelled: usize,
}

#[derive(Debug, Clone)]
pub struct JobView {
    pub id: u64,
    pub kind: JobKind,
    pub phase: Phase,
    pub graph: Arc<TaskGraph>,
    pub tasks: Vec<TaskInfo>,
    /// Map task of each partition (index: partition).
    pub partition_task: Vec<usize>,
    /// Lane names in order of first appearance (`local-0`, a Dask worker…).
    pub workers: Vec<String>,
    pub workers_expected: usize,
    /// Where the tasks run (`local`, the Dask scheduler), once announced.
    pub executor: String,
    pub memory_budget: u64,
    pub progress: Progress,
    /// Bytes read per `SAMPLE_MS` since the start.
    pub throughput: Vec<u64>,
    /// Latest event time seen (ms since the job started).
    pub now_ms: u64,
    /// First failed task, for the detail pane and the fix key.
    pub first_failure: Option<usize>,
    pub lost_workers: Vec<String>,
    /// Why the job discarded what it read and started reading again.
    pub read_again: Option<String>,
    /// The steps the job runs (the recipe up to the selected step).
    pub steps: Vec<Step>,
    /// The source they run on.
    pub source: crate::engine::recipe::SourceConfig,
    /// Starts from the computed result of this many of `steps`.
    pub from_result: Option<usize>,
    /// What each partition covers, for detail lines.
    pub labels: Arc<Vec<String>>,
}

impl JobView {
    pub fn new(id: u64, kind: JobKind, graph: Arc<TaskGraph>) -> JobView {
        let n = graph.tasks.len();
        let parts = graph
            .tasks
            .iter()
            .filter_map(|t| t.partition)
            .max()
            .map_or(0, |m| m + 1);
        let mut partition_task = vec![usize::MAX; parts];
        for t in &graph.tasks {
            if let Some(p) = t.partition {
                partition_task[p] = t.id;
            }
        }
        JobView {
            id,
            kind,
            phase: Phase::Running,
            tasks: vec![TaskInfo::new(); n],
            partition_task,
            graph,
            workers: Vec::new(),
            workers_expected: 0,
            executor: String::new(),
            memory_budget: 0,
            progress: Progress::default(),
            throughput: Vec::new(),
            now_ms: 0,
            first_failure: None,
            lost_workers: Vec::new(),
            read_again: None,
            steps: Vec::new(),
            source: Default::default(),
            from_result: None,
            labels: Arc::new(Vec::new()),
        }
    }

    pub fn is_running(&self) -> bool {
        matches!(self.phase, Phase::Running | Phase::Preparing)
    }

    fn lane(&mut self, worker: &str) -> usize {
        match self.workers.iter().position(|w| w == worker) {
            Some(i) => i,
            None => {
                self.workers.push(worker.to_string());
                self.workers.len() - 1
            }
        }
    }

    /// Fold one event in. Events for unknown tasks are ignored (they cannot
    /// come from this job's graph).
    pub fn apply(&mut self, e: &Event) {
        match e {
            Event::JobStarted {
                executor,
                workers,
                memory_budget,
                partitions,
                input_bytes,
                tasks,
                ..
            } => {
                self.executor = executor.clone();
                self.workers_expected = *workers;
                self.memory_budget = *memory_budget;
                self.progress.partitions = *partitions;
                self.progress.input_bytes = *input_bytes;
                self.progress.total = *tasks;
            }
            Event::TaskQueued { task, .. } => {
                if let Some(t) = self.tasks.get_mut(*task) {
                    t.state = TaskState::Queued;
                }
            }
            Event::TaskStarted {
                task,
                worker,
                at_ms,
                ..
            } => {
                let lane = self.lane(worker);
                self.now_ms = self.now_ms.max(*at_ms);
                if let Some(t) = self.tasks.get_mut(*task) {
                    t.state = TaskState::Running;
                    t.worker = Some(lane);
                    t.start_ms = Some(*at_ms);
                }
            }
            Event::TaskFinished {
                task,
                worker,
                rows_in,
                rows_out,
                bytes_read,
                elapsed_ms,
                at_ms,
                ..
            } => {
                let lane = self.lane(worker);
                self.now_ms = self.now_ms.max(*at_ms);
                if let Some(t) = self.tasks.get_mut(*task) {
                    t.state = TaskState::Done;
                    t.worker = Some(lane);
                    t.end_ms = Some(*at_ms);
                    t.start_ms = Some(t.start_ms.unwrap_or(at_ms.saturating_sub(*elapsed_ms)));
                    t.rows_in = *rows_in;
                    t.rows_out = *rows_out;
                    t.bytes_read = *bytes_read;
                }
                let bucket = (*at_ms / SAMPLE_MS) as usize;
                if self.throughput.len() <= bucket {
                    self.throughput.resize(bucket + 1, 0);
                }
                self.throughput[bucket] += *bytes_read;
            }
            Event::TaskFailed {
                task,
                worker,
                error,
                fix,
                ..
            } => {
                let lane = self.lane(worker);
                if let Some(t) = self.tasks.get_mut(*task) {
                    t.state = TaskState::Failed;
                    t.worker = Some(lane);
                    t.end_ms = Some(self.now_ms);
                    t.error = Some(error.clone());
                    t.fix = fix.clone();
                    if self.first_failure.is_none() {
                        self.first_failure = Some(*task);
                    }
                }
            }
            Event::TaskCancelled { task, .. } => {
                if let Some(t) = self.tasks.get_mut(*task) {
                    if t.state != TaskState::Done && t.state != TaskState::Failed {
                        t.state = TaskState::Cancelled;
                    }
                }
            }
            Event::WorkerLost { worker, .. } => self.lost_workers.push(worker.clone()),
            Event::ReadAgain { reason } => self.read_again = Some(reason.clone()),
            Event::Progress(p) => {
                self.now_ms = self.now_ms.max(p.elapsed_ms);
                self.progress = p.clone();
            }
            Event::JobFinished {
                elapsed_ms,
                rows_out,
                ..
            } => {
                self.now_ms = self.now_ms.max(*elapsed_ms);
                self.phase = Phase::Finished {
                    rows_out: *rows_out,
                    elapsed_ms: *elapsed_ms,
                };
            }
            Event::JobFailed { error } => {
                self.mark_unfinished_cancelled();
                self.phase = Phase::Failed(error.clone());
            }
            Event::JobCancelled { elapsed_ms } => {
                self.mark_unfinished_cancelled();
                self.phase = Phase::Cancelled {
                    elapsed_ms: *elapsed_ms,
                };
            }
        }
    }

    /// A job that ended without finishing leaves nothing queued or running.
    pub fn mark_unfinished_cancelled(&mut self) {
        for t in &mut self.tasks {
            if matches!(t.state, TaskState::Queued | TaskState::Running) {
                t.state = TaskState::Cancelled;
            }
        }
    }

    pub fn stage_counts(&self, stage: usize) -> StageCounts {
        let mut c = StageCounts::default();
        if let Some(s) = self.graph.stages.get(stage) {
            for &t in &s.tasks {
                match self.tasks[t].state {
                    TaskState::Queued => c.queued += 1,
                    TaskState::Running => c.running += 1,
                    TaskState::Done => c.done += 1,
                    TaskState::Failed => c.failed += 1,
                    TaskState::Cancelled => c.cancelled += 1,
                }
            }
        }
        c
    }

    /// State of each partition's map task.
    pub fn partition_state(&self, p: usize) -> TaskState {
        self.partition_task
            .get(p)
            .and_then(|&t| self.tasks.get(t))
            .map_or(TaskState::Queued, |t| t.state)
    }

    pub fn partitions(&self) -> usize {
        self.partition_task.len()
    }

    /// Partitions whose map task has finished.
    pub fn partitions_done(&self) -> usize {
        (0..self.partitions())
            .filter(|&p| self.partition_state(p) == TaskState::Done)
            .count()
    }

    /// Throughput per sample in bytes/s.
    pub fn throughput_per_s(&self) -> Vec<u64> {
        self.throughput
            .iter()
            .map(|b| b * 1000 / SAMPLE_MS)
            .collect()
    }

    pub fn fix(&self) -> Option<&Fix> {
        self.first_failure
            .and_then(|t| self.tasks.get(t))
            .and_then(|t| t.fix.as_ref())
    }
}

/// Characters per cell of the progress grid.
pub const CELL_W: u16 = 2;

/// Cells per row of the progress grid on a terminal `width` wide, for `n`
/// partitions (shared by the view and the cursor movement).
pub fn grid_columns(width: u16, n: usize) -> usize {
    ((width.saturating_sub(4) / CELL_W) as usize).clamp(1, n.max(1))
}

/// The worst state among `states`, for a grid cell that stands for several
/// partitions: failed > running > cancelled > queued > done, so a cell is
/// green only when all of its partitions are done.
pub fn aggregate(states: impl Iterator<Item = TaskState>) -> Option<TaskState> {
    let rank = |s: TaskState| match s {
        TaskState::Failed => 4,
        TaskState::Running => 3,
        TaskState::Cancelled => 2,
        TaskState::Queued => 1,
        TaskState::Done => 0,
    };
    states.max_by_key(|s| rank(*s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::plan::graph::StageKind;

    fn graph(parts: usize) -> Arc<TaskGraph> {
        let mut g = TaskGraph::default();
        let m = g.add_stage("read-csv+groupby-chunk", StageKind::Map);
        let maps: Vec<usize> = (0..parts)
            .map(|p| g.add_task(m, Some(p), vec![], 100))
            .collect();
        let f = g.add_stage("groupby-agg", StageKind::Finalize);
        g.add_task(f, None, maps, 0);
        Arc::new(g)
    }

    fn started(task: usize, p: usize, w: &str, at: u64) -> Event {
        Event::TaskStarted {
            task,
            stage: 0,
            partition: Some(p),
            worker: w.into(),
            at_ms: at,
        }
    }

    fn finished(task: usize, p: usize, w: &str, at: u64) -> Event {
        Event::TaskFinished {
            task,
            stage: 0,
            partition: Some(p),
            worker: w.into(),
            rows_in: 10,
            rows_out: 2,
            bytes_read: 100,
            elapsed_ms: 5,
            at_ms: at,
        }
    }

    #[test]
    fn events_fold_into_task_states_and_stage_counts() {
        let mut j = JobView::new(1, JobKind::Compute, graph(3));
        j.apply(&started(0, 0, "local-0", 0));
        j.apply(&started(1, 1, "local-1", 1));
        j.apply(&finished(0, 0, "local-0", 300));
        let c = j.stage_counts(0);
        assert_eq!((c.done, c.running, c.queued), (1, 1, 1));
        assert_eq!(j.partition_state(1), TaskState::Running);
        assert_eq!(j.workers, vec!["local-0", "local-1"]);
        assert_eq!(j.throughput, vec![0, 100]);
        assert_eq!(j.throughput_per_s(), vec![0, 400]);
        j.apply(&Event::JobCancelled { elapsed_ms: 400 });
        assert_eq!(j.partition_state(1), TaskState::Cancelled);
        assert_eq!(j.partition_state(2), TaskState::Cancelled);
        assert_eq!(j.partition_state(0), TaskState::Done);
        assert_eq!(j.phase, Phase::Cancelled { elapsed_ms: 400 });
        assert!(!j.is_running());
    }

    #[test]
    fn a_failure_keeps_its_error_and_fix() {
        let mut j = JobView::new(1, JobKind::Compute, graph(2));
        let fix = Fix::SetDtype {
            column: "zip".into(),
            dtype: "str".into(),
        };
        j.apply(&Event::TaskFailed {
            task: 1,
            stage: 0,
            partition: Some(1),
            worker: "local-0".into(),
            error: "column `zip` …".into(),
            fix: Some(fix.clone()),
        });
        j.apply(&Event::JobFailed {
            error: "column `zip` …".into(),
        });
        assert_eq!(j.fix(), Some(&fix));
        assert_eq!(j.partition_state(1), TaskState::Failed);
        assert_eq!(j.partition_state(0), TaskState::Cancelled);
        assert!(matches!(j.phase, Phase::Failed(_)));
    }

    #[test]
    fn aggregate_cells_show_the_worst_state() {
        use TaskState::*;
        assert_eq!(aggregate([Done, Done].into_iter()), Some(Done));
        assert_eq!(aggregate([Done, Queued].into_iter()), Some(Queued));
        assert_eq!(aggregate([Running, Failed].into_iter()), Some(Failed));
        assert_eq!(aggregate(std::iter::empty()), None);
    }
}
