//! A prepared job and the work of each kind of task. Executors decide where
//! and when tasks run; what a task computes lives here, so every executor
//! produces identical results.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use polars::prelude::*;

use crate::engine::error::{QuarryError, Result};
use crate::engine::frames::{collect, concat_frames};
use crate::engine::input::discover::discover;
use crate::engine::input::source::Source;
use crate::engine::input::storage::{storage_for, Entry};
use crate::engine::plan::graph::{StageKind, TaskGraph};
use crate::engine::plan::lower::{lower, plan, Plan, DEFAULT_SPLIT_EVERY};
use crate::engine::plan::operators::FinalizeContext;
use crate::engine::recipe::{Recipe, Step};
use crate::engine::steps::apply::{apply_steps, load_joins, JoinTables};

/// Everything a task needs, shared read-only by all workers.
pub struct Job {
    pub recipe: Recipe,
    pub base: PathBuf,
    pub source: Arc<Source>,
    pub plan: Plan,
    pub graph: TaskGraph,
    pub joins: JoinTables,
    /// Source columns the map tasks read (`None`: all).
    pub needed: Option<Vec<String>>,
    /// Where partitions are kept when the map steps include `persist`.
    pub persist: Option<crate::engine::run::persist::PersistStore>,
    /// The schema the blocking step sees (dtypes for `describe`'s output).
    pub blocking_input: Schema,
    /// Sees every map task's partial aggregate as it is made (the explorer
    /// fills in its Describe view live from these).
    pub observe_partial: Option<PartialObserver>,
    /// The options the graph was lowered with (a remote worker re-plans the
    /// same job from them).
    pub options: JobOptions,
}

pub type PartialObserver = Arc<dyn Fn(&DataFrame) + Send + Sync>;

/// Options that shape the graph.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct JobOptions {
    pub split_every: usize,
    /// Overrides the recipe's blocksize.
    pub blocksize: Option<u64>,
    /// Map outputs go to an output file, not to a final concat task.
    pub writes_output: bool,
}

impl Default for JobOptions {
    fn default() -> Self {
        JobOptions {
            split_every: DEFAULT_SPLIT_EVERY,
            blocksize: None,
            writes_output: false,
        }
    }
}

impl Job {
    /// Open the source, check every step against the schema, plan and lower.
    pub fn prepare(recipe: Recipe, base: &Path, opts: &JobOptions) -> Result<Job> {
        let source = Job::open_source(&recipe, base, opts)?;
        Job::prepare_on(recipe, base, source, opts)
    }

    /// The recipe's source, opened with the options' blocksize (several
    /// jobs of one run share it: one sniff, one boundary index).
    pub fn open_source(recipe: &Recipe, base: &Path, opts: &JobOptions) -> Result<Arc<Source>> {
        let mut spec = recipe.source.to_spec(base)?;
        if let Some(b) = opts.blocksize {
            spec.blocksize = b;
        }
        Ok(Arc::new(Source::open(spec)?))
    }

    /// Like `prepare`, on a source that is already open (the explorer's):
    /// no second sniff, and the boundary index it built is reused.
    pub fn prepare_on(
        recipe: Recipe,
        base: &Path,
        source: Arc<Source>,
        opts: &JobOptions,
    ) -> Result<Job> {
        let joins = load_joins(&recipe, base)?;
        // Validate all steps up front: errors name the step and the key.
        let schemas = crate::engine::steps::apply::schemas_after_steps(
            &source.schema,
            &recipe.steps,
            &joins,
        )?;
        let join_size = |i: usize| -> u64 {
            match &recipe.steps[i] {
                Step::Join { source, .. } => source
                    .to_spec(base)
                    .ok()
                    .and_then(|s| {
                        let storage = storage_for(&s.path, &s.store).ok()?;
                        let files = discover(storage.as_ref(), &s.path, s.format).ok()?;
                        let size = |f: &PathBuf| match storage.entry(f) {
                            Ok(Entry::File { size }) => size,
                            _ => 0,
                        };
                        Some(files.iter().map(size).sum())
                    })
                    .unwrap_or(0),
                _ => 0,
            }
        };
        let plan = plan(&recipe.steps, join_size)?;
        let blocking_input = match plan.blocking.as_ref().map(|b| b.first_index()) {
            Some(i) if i > 0 => schemas[i - 1].clone(),
            _ => (*source.schema).clone(),
        };
        let writes_output = opts.writes_output && plan.blocking.is_none();
        let mut graph = lower(&source, &plan, opts.split_every, writes_output);
        graph.skipped = crate::engine::input::parquet_skip::skipped_by_statistics(
            &source,
            &crate::engine::plan::pushdown::source_bounds(&plan),
        );
        let needed = crate::engine::plan::projection::needed_columns(&plan, &source.schema);
        let persist = plan
            .map_steps
            .iter()
            .rposition(|(_, s)| matches!(s, Step::Persist {}))
            .map(|k| {
                let prefix: Vec<Step> = plan.map_steps[..=k]
                    .iter()
                    .map(|(_, s)| s.clone())
                    .collect();
                crate::engine::run::persist::PersistStore::for_prefix(&source, &prefix)
            });
        Ok(Job {
            options: opts.clone(),
            observe_partial: None,
            blocking_input,
            needed,
            persist,
            recipe,
            base: base.to_path_buf(),
            source,
            plan,
            graph,
            joins,
        })
    }

    /// Output part size for directory outputs: a `repartition` step's
    /// target, else the source blocksize.
    pub fn output_part_bytes(&self) -> u64 {
        for step in self.recipe.steps.iter().rev() {
            if let Step::Repartition { n, blocksize } = step {
                if let Some(b) = blocksize
                    .as_deref()
                    .and_then(|b| crate::engine::input::spec::parse_bytesize(b).ok())
                {
                    return b;
                }
                if let Some(n) = n {
                    return (self.source.total_bytes() / (*n as u64).max(1)).max(1);
                }
            }
        }
        self.source.spec.blocksize
    }

    /// Whether map outputs are the result (no blocking step).
    pub fn is_map_only(&self) -> bool {
        self.plan.blocking.is_none()
    }

    /// Read partition `p` (only the columns the plan needs), run the fused
    /// row-local steps and the partial (chunk) part of the blocking step.
    /// With a `persist` step, the rows as of that step come from the cache
    /// when an earlier run kept them, and are kept otherwise.
    pub fn run_map(&self, p: usize) -> Result<TaskOutput> {
        let steps: Vec<Step> = self.plan.map_steps.iter().map(|(_, s)| s.clone()).collect();
        let persist_at = steps.iter().rposition(|s| matches!(s, Step::Persist {}));
        let (lf, rows_in) = match (&self.persist, persist_at) {
            (Some(store), Some(k)) => {
                let kept = if store.has(p) {
                    store.load(p)?
                } else {
                    let df = self.source.read_partition(p)?;
                    let mut kept = collect(apply_steps(df.lazy(), 0, &steps[..=k], &self.joins)?)?;
                    store.save(p, &mut kept)?;
                    kept
                };
                let rows = kept.height();
                let rest = apply_steps(kept.lazy(), k + 1, &steps[k + 1..], &self.joins)?;
                (rest, rows)
            }
            _ if self.skips_partition(p) => {
                // Its row groups' statistics exclude every row: not read.
                (self.map_lazy(self.read_schema_frame().lazy())?, 0)
            }
            _ => {
                let df = self.source.read_columns(p, self.needed.as_deref())?;
                let rows = df.height();
                (self.map_lazy(df.lazy())?, rows)
            }
        };
        let lf = match &self.plan.blocking {
            Some(b) => b.chunk(lf),
            None => lf,
        };
        let frame = collect_partition(lf).map_err(|e| {
            QuarryError::Engine(format!(
                "partition {p}: {}",
                crate::engine::recipe::expr::clean_message(&e.to_string())
            ))
        })?;
        let frame = match &self.plan.blocking {
            Some(b) => b.chunk_state(frame)?,
            None => frame,
        };
        if let (Some(observe), Some(_)) = (&self.observe_partial, &self.plan.blocking) {
            observe(&frame);
        }
        Ok(TaskOutput { rows_in, frame })
    }

    /// What one map task asks polars to run, after polars' optimiser, on a
    /// frame with the columns quarry's reader hands it (projection happens in
    /// the reader; predicate and projection pushdown show in the plan).
    pub fn map_plan_text(&self) -> Result<String> {
        let lf = self.map_lazy(self.read_schema_frame().lazy())?;
        let lf = match &self.plan.blocking {
            Some(b) => b.chunk(lf),
            None => lf,
        };
        let plan = lf
            .describe_optimized_plan()
            .map_err(|e| QuarryError::Engine(e.to_string()))?;
        let read = match &self.needed {
            Some(cols) => format!(
                "quarry's reader parses {} of {} columns: {}",
                cols.len(),
                self.source.schema.len(),
                cols.join(", ")
            ),
            None => format!(
                "quarry's reader parses all {} columns",
                self.source.schema.len()
            ),
        };
        Ok(format!("{read}\n\n{plan}"))
    }

    /// No rows, with the columns (and dtypes) the reader hands a map task.
    fn read_schema_frame(&self) -> DataFrame {
        let schema: Schema = match &self.needed {
            Some(cols) => self
                .source
                .schema
                .iter()
                .filter(|(n, _)| cols.iter().any(|c| c.as_str() == n.as_str()))
                .map(|(n, d)| Field::new(n.clone(), d.clone()))
                .collect(),
            None => (*self.source.schema).clone(),
        };
        DataFrame::empty_with_schema(&schema)
    }

    /// Whether partition `p`'s row groups all fail the job's filters by
    /// their statistics.
    pub fn skips_partition(&self, p: usize) -> bool {
        self.graph
            .skipped
            .as_ref()
            .and_then(|s| s.partitions.get(p).copied())
            .unwrap_or(false)
    }

    fn map_lazy(&self, lf: LazyFrame) -> Result<LazyFrame> {
        let steps: Vec<Step> = self.plan.map_steps.iter().map(|(_, s)| s.clone()).collect();
        apply_steps(lf, 0, &steps, &self.joins)
    }

    /// Run a non-map task on its inputs (in dependency order).
    pub fn run_reduce(&self, task: usize, inputs: Vec<DataFrame>) -> Result<TaskOutput> {
        let stage = &self.graph.stages[self.graph.tasks[task].stage];
        let rows_in = inputs.iter().map(DataFrame::height).sum();
        let all = concat_frames(inputs)?;
        let ctx = FinalizeContext {
            input_schema: &self.blocking_input,
            joins: &self.joins,
        };
        let frame = match (stage.kind, &self.plan.blocking) {
            (StageKind::Concat, _) => all,
            (StageKind::Combine, Some(b)) => b.combine(all)?,
            (StageKind::Finalize | StageKind::Gather, Some(b)) => {
                let result = b.finalize(all, &ctx)?;
                self.post(result)?
            }
            (kind, _) => {
                return Err(QuarryError::Engine(format!(
                    "internal: a {kind:?} task without a matching plan"
                )))
            }
        };
        Ok(TaskOutput { rows_in, frame })
    }

    fn post(&self, lf: LazyFrame) -> Result<DataFrame> {
        let Some(first) = self.plan.post_steps.first().map(|(i, _)| *i) else {
            return collect(lf);
        };
        let steps: Vec<Step> = self
            .plan
            .post_steps
            .iter()
            .map(|(_, s)| s.clone())
            .collect();
        collect(apply_steps(lf, first, &steps, &self.joins)?)
    }

    /// The result of the whole recipe computed by polars in one shot over
    /// all partitions concatenated: the oracle the partitioned run must equal.
    pub fn single_shot(&self) -> Result<DataFrame> {
        let mut all = Vec::new();
        for p in &self.source.partitions {
            all.push(self.source.read_partition(p.index)?);
        }
        let df = concat_frames(all)?;
        collect(apply_steps(df.lazy(), 0, &self.recipe.steps, &self.joins)?)
    }
}

pub struct TaskOutput {
    pub rows_in: usize,
    pub frame: DataFrame,
}

/// Collect one partition's query. The in-memory engine is used: each task
/// is one partition already, and it avoids the streaming engine's extra
/// line-counting pass over the buffer (`QUARRY_ENGINE=streaming` to compare).
fn collect_partition(lf: LazyFrame) -> PolarsResult<DataFrame> {
    let engine = match std::env::var("QUARRY_ENGINE").as_deref() {
        Ok("streaming") => Engine::Streaming,
        Ok("auto") => Engine::Auto,
        _ => Engine::InMemory,
    };
    // A plain query (no multiple sinks) always has a single result.
    lf.collect_with_engine(engine).map(|r| r.unwrap_single())
}
