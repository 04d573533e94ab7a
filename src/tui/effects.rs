//! The engine work behind each effect, as plain functions: the terminal
//! runtime runs them on worker threads and sends their messages to the
//! loop; tests call them inline. One definition, so what the tests drive is
//! what the explorer does.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use polars::prelude::{DataFrame, IntoLazy};

use crate::app::compute::JobKind;
use crate::app::state::{PlannedGraph, State};
use crate::app::update::{JobOutcome, PreviewData, PreviewRequest, ResultBase, SourceInfo};
use crate::app::{Effect, Msg};
use crate::engine::recipe::{Recipe, SourceConfig, Step};
use crate::engine::run::exec::{CancelToken, EventSink, Executor};
use crate::engine::run::job::{Job, JobOptions};
use crate::engine::run::output::{write_result, OutputTarget, PartSink};
use crate::engine::steps::apply::{load_joins, JoinTables};
use crate::engine::{Previewer, Source};

/// The engine handles effects run against.
#[derive(Clone)]
pub struct Engine {
    pub previewer: Arc<Previewer>,
    pub executor: Arc<dyn Executor>,
}

/// Sends a message to the app (from any thread).
pub type Emit = Arc<dyn Fn(Msg) + Send + Sync>;

/// One effect's engine work, with everything it needs taken from the state
/// when it was asked for (it runs later, on another thread).
pub enum Work {
    Preview {
        previewer: Arc<Previewer>,
        joins: Arc<JoinTables>,
        request: PreviewRequest,
    },
    Save {
        path: PathBuf,
        text: String,
    },
    Load {
        path: PathBuf,
        current: String,
    },
    LoadJoin {
        step: Step,
        at: usize,
        base: PathBuf,
    },
    PlanGraph {
        request: u64,
        recipe: Recipe,
        base: PathBuf,
        source: Arc<Source>,
        from_result: Option<ResultBase>,
    },
    WriteResult {
        frame: DataFrame,
        path: String,
    },
    WriteChart {
        data: Result<crate::app::chart::ChartData, String>,
        path: String,
    },
    ShapeChart {
        request: u64,
        frame: DataFrame,
        spec: crate::app::chart::ChartSpec,
    },
    Reopen {
        source: SourceConfig,
        base: PathBuf,
    },
    Job {
        id: u64,
        kind: JobKind,
        recipe: Recipe,
        base: PathBuf,
        source: Arc<Source>,
        /// A computed result the recipe's steps run on instead of `source`.
        from_result: Option<ResultBase>,
        executor: Arc<dyn Executor>,
    },
}

/// What finished work hands back: a message, or a new previewer (the
/// source reopened) to install before the message about it.
pub enum Done {
    Msg(Msg),
    Reopened(Arc<Previewer>, Msg),
}

/// The engine work of `effect`; `None` for effects the runtime itself
/// handles (quit, copy, cancel).
pub fn work_for(effect: Effect, state: &State, engine: &Engine) -> Option<Work> {
    let base = state.base.clone();
    let source = || Arc::clone(engine.previewer.source());
    Some(match effect {
        Effect::Preview(request) => Work::Preview {
            previewer: Arc::clone(&engine.previewer),
            joins: Arc::clone(&state.joins),
            request,
        },
        Effect::Save { path, text } => Work::Save { path, text },
        Effect::Load { path } => Work::Load {
            path,
            current: engine.previewer.source().spec.path.clone(),
        },
        Effect::LoadJoin { step, at } => Work::LoadJoin { step, at, base },
        Effect::PlanGraph {
            request,
            recipe,
            from_result,
        } => Work::PlanGraph {
            request,
            recipe,
            base,
            source: source(),
            from_result,
        },
        Effect::WriteResult { path } => Work::WriteResult {
            frame: state.jobs.result.as_ref()?.frame.clone(),
            path,
        },
        Effect::WriteChart { path } => Work::WriteChart {
            data: state.chart.as_ref()?.data.clone(),
            path,
        },
        Effect::ShapeChart { request } => Work::ShapeChart {
            request,
            frame: crate::app::update::chart_frame(state)?.clone(),
            spec: state.chart.as_ref()?.spec.clone(),
        },
        Effect::Reopen { source } => Work::Reopen { source, base },
        Effect::StartJob {
            id,
            kind,
            recipe,
            from_result,
        } => Work::Job {
            id,
            kind,
            recipe,
            base,
            source: source(),
            from_result,
            executor: Arc::clone(&engine.executor),
        },
        Effect::Quit | Effect::Copy(_) | Effect::CancelJob | Effect::SaveHistory(_) => return None,
    })
}

impl Work {
    /// Do the work. A job streams its progress to `emit` as it runs; every
    /// kind ends with the message returned. `cancel` stops a job or a
    /// superseded preview.
    pub fn run(self, emit: &Emit, cancel: &CancelToken) -> Done {
        Done::Msg(match self {
            Work::Preview {
                previewer,
                joins,
                request,
            } => {
                let t0 = Instant::now();
                let result = match &request.base {
                    Some(base) => {
                        preview_on_result(base, &request, &joins).map(|frame| PreviewData {
                            frame,
                            partial: false,
                            partitions_read: 0,
                            elapsed_ms: t0.elapsed().as_millis() as u64,
                            from_result: Some(base.steps),
                        })
                    }
                    None => previewer
                        .preview_steps_until(
                            &request.steps,
                            &joins,
                            request.rows,
                            request.take,
                            cancel,
                        )
                        .map(|p| PreviewData {
                            frame: p.frame,
                            partial: p.partial,
                            partitions_read: p.partitions_read,
                            elapsed_ms: t0.elapsed().as_millis() as u64,
                            from_result: None,
                        }),
                }
                .map_err(|e| e.to_string());
                Msg::PreviewDone {
                    request: request.request,
                    result,
                }
            }
            Work::Save { path, text } => Msg::Saved(
                crate::engine::run::atomic::write_bytes(&path, text.as_bytes())
                    .map(|_| path.clone())
                    .map_err(|e| format!("cannot save the recipe: {e}")),
            ),
            Work::Load { path, current } => Msg::Loaded(load_recipe(&path, &current)),
            Work::LoadJoin { step, at, base } => load_join(step, at, &base),
            Work::PlanGraph {
                request,
                recipe,
                base,
                source,
                from_result,
            } => Msg::GraphReady {
                request,
                result: plan_graph(recipe, &base, source, from_result),
            },
            Work::WriteResult { mut frame, path } => {
                let t0 = Instant::now();
                let result = OutputTarget::parse(&path)
                    .and_then(|t| write_result(&t, &mut frame).map(|_| t))
                    .map(|t| (t.path, frame.height(), t0.elapsed().as_millis() as u64))
                    .map_err(|e| e.to_string());
                Msg::Written(result)
            }
            Work::WriteChart { data, path } => {
                let path = PathBuf::from(path);
                Msg::ChartWritten(
                    data.and_then(|d| crate::tui::chart_svg::write(&d, &path))
                        .map(|_| path),
                )
            }
            Work::ShapeChart {
                request,
                frame,
                spec,
            } => Msg::ChartShaped {
                request,
                result: crate::app::chart::chart_data(&frame, &spec),
            },
            Work::Reopen { source, base } => {
                let opened = source
                    .to_spec(&base)
                    .and_then(Source::open)
                    .map(Arc::new)
                    .map_err(|e| e.to_string());
                return match opened {
                    Ok(src) => {
                        let info = SourceInfo {
                            line: src.describe(),
                            schema: Arc::clone(&src.schema),
                            partitions: src.partitions.len(),
                            notes: src.inference_notes.clone(),
                            drift: src.drift_report(),
                            date_layouts: src.date_layouts.clone(),
                        };
                        Done::Reopened(Arc::new(Previewer::new(src)), Msg::Reopened(Ok(info)))
                    }
                    Err(e) => Done::Msg(Msg::Reopened(Err(e))),
                };
            }
            Work::Job {
                id,
                kind,
                recipe,
                base,
                source,
                from_result,
                executor,
            } => {
                let result = on_result(recipe, source, from_result.as_ref()).and_then(
                    |(recipe, source, _kept)| {
                        run_job(
                            id,
                            kind,
                            recipe,
                            &base,
                            source,
                            Arc::clone(emit),
                            cancel.clone(),
                            executor.as_ref(),
                        )
                    },
                );
                Msg::JobDone { id, result }
            }
        })
    }
}

/// The steps of a preview after a computed result, run on that result:
/// exact (the result holds every row), and in memory.
fn preview_on_result(
    base: &ResultBase,
    request: &PreviewRequest,
    joins: &JoinTables,
) -> crate::engine::Result<DataFrame> {
    let rest = &request.steps[base.steps..];
    let lf = crate::engine::steps::apply::apply_steps(
        base.frame.clone().lazy(),
        base.steps,
        rest,
        joins,
    )?;
    let all = crate::engine::frames::collect(lf)?;
    Ok(match request.take {
        Some(seed) if all.height() > request.rows => all
            .sample_n_literal(request.rows, false, Some(false), Some(seed))
            .map_err(|e| crate::engine::QuarryError::Engine(e.to_string()))?,
        _ => all.head(Some(request.rows)),
    })
}

/// Where `recipe`'s steps run: on `source`, or, given a computed result,
/// on that result kept as a file (held until the returned guard drops).
fn on_result(
    recipe: Recipe,
    source: Arc<Source>,
    from_result: Option<&ResultBase>,
) -> Result<(Recipe, Arc<Source>, Option<ResultFile>), String> {
    let Some(result) = from_result else {
        return Ok((recipe, source, None));
    };
    let file = ResultFile::write(&result.frame).map_err(|e| e.to_string())?;
    let source = Source::open(file.spec())
        .map(Arc::new)
        .map_err(|e| e.to_string())?;
    let recipe = Recipe {
        source: file.source(),
        steps: recipe.steps,
    };
    Ok((recipe, source, Some(file)))
}

/// A computed result as a Parquet file in the cache, so a job can start
/// from it with the usual partitions, graph and progress. Removed when
/// dropped.
struct ResultFile {
    path: PathBuf,
}

impl ResultFile {
    /// Rows per row group, so a large result still splits into partitions.
    const ROW_GROUP: usize = 256 * 1024;

    fn write(frame: &DataFrame) -> crate::engine::Result<ResultFile> {
        let dir = crate::engine::run::persist::cache_root().join("results");
        std::fs::create_dir_all(&dir).map_err(|e| crate::engine::QuarryError::io(&dir, e))?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let path = dir.join(format!("result-{}-{nanos}.parquet", std::process::id()));
        let mut frame = frame.clone();
        let file =
            std::fs::File::create(&path).map_err(|e| crate::engine::QuarryError::io(&path, e))?;
        let kept = ResultFile { path };
        polars::prelude::ParquetWriter::new(std::io::BufWriter::new(file))
            .with_row_group_size(Some(Self::ROW_GROUP))
            .finish(&mut frame)
            .map_err(|e| {
                crate::engine::QuarryError::Engine(format!("keeping the computed result: {e}"))
            })?;
        Ok(kept)
    }

    fn spec(&self) -> crate::engine::SourceSpec {
        crate::engine::SourceSpec::new(self.path.to_string_lossy().into_owned())
    }

    fn source(&self) -> SourceConfig {
        SourceConfig::from_spec(&self.spec())
    }
}

impl Drop for ResultFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Prepare the job on the open source, then run it on `executor`; every
/// message about it (graph ready, events) goes to `emit`.
#[allow(clippy::too_many_arguments)]
fn run_job(
    id: u64,
    kind: JobKind,
    recipe: Recipe,
    base: &Path,
    source: Arc<Source>,
    emit: Arc<dyn Fn(Msg) + Send + Sync>,
    cancel: CancelToken,
    executor: &dyn Executor,
) -> Result<JobOutcome, String> {
    let opts = JobOptions {
        writes_output: matches!(kind, JobKind::Write { .. }),
        ..JobOptions::default()
    };
    let mut job = Job::prepare_on(recipe, base, source, &opts).map_err(|e| e.to_string())?;
    if matches!(
        kind,
        JobKind::Insight(crate::app::insight::Insight::Describe)
    ) {
        job.observe_partial = Some(live_describe(
            id,
            job.blocking_input.clone(),
            job.source.partitions.len(),
            Arc::clone(&emit),
        ));
    }
    let labels = (0..job.source.partitions.len())
        .map(|p| job.source.describe_partition(p))
        .collect();
    emit(Msg::JobPrepared {
        id,
        graph: Arc::new(job.graph.clone()),
        labels: Arc::new(labels),
    });
    let sink = match &kind {
        JobKind::Write { path } => {
            let target = OutputTarget::parse(path).map_err(|e| e.to_string())?;
            Some(PartSink::create(&target, job.output_part_bytes()).map_err(|e| e.to_string())?)
        }
        JobKind::Compute | JobKind::Insight(_) | JobKind::PivotValues { .. } => None,
    };
    let events: EventSink = Arc::new(move |event| emit(Msg::JobEvent { id, event }));
    let r = executor
        .execute(Arc::new(job), sink, events, cancel)
        .map_err(|e| e.to_string())?;
    Ok(JobOutcome {
        frame: r.frame,
        rows_out: r.rows_out,
        elapsed_ms: r.elapsed_ms,
    })
}

/// Merge describe partials as map tasks make them and send the table so far
/// (at most every 250 ms; the merge runs on the worker that made the
/// partial, never on the UI thread).
fn live_describe(
    id: u64,
    schema: polars::prelude::Schema,
    partitions: usize,
    emit: Arc<dyn Fn(Msg) + Send + Sync>,
) -> crate::engine::run::job::PartialObserver {
    use crate::engine::stats::describe::{finish, merge};
    struct Live {
        pending: Vec<polars::prelude::DataFrame>,
        merged: Option<polars::prelude::DataFrame>,
        seen: usize,
        last: Option<Instant>,
    }
    let live = std::sync::Mutex::new(Live {
        pending: Vec::new(),
        merged: None,
        seen: 0,
        last: None,
    });
    Arc::new(move |states| {
        let Ok(mut l) = live.lock() else { return };
        l.pending.push(states.clone());
        l.seen += 1;
        if l.last
            .is_some_and(|t| t.elapsed() < Duration::from_millis(250))
        {
            return;
        }
        l.last = Some(Instant::now());
        let mut all: Vec<polars::prelude::DataFrame> = l.merged.take().into_iter().collect();
        all.append(&mut l.pending);
        let Ok(states) = crate::engine::frames::concat_frames(all).and_then(|f| merge(&f)) else {
            return;
        };
        if let Ok(table) = finish(&states, &schema) {
            emit(Msg::InsightPartial {
                id,
                table,
                partitions: (l.seen, partitions),
            });
        }
        l.merged = Some(states);
    })
}

/// Read the right side of a `:join` step (on a worker thread).
fn load_join(step: Step, at: usize, base: &Path) -> Msg {
    let result = match &step {
        Step::Join { source, .. } => crate::engine::steps::apply::load_join_table(source, base)
            .map(|t| (crate::engine::steps::apply::join_key(source), t))
            .map_err(|e| format!("join {}: {e}", source.path)),
        other => Err(format!("not a join step: {}", other.op())),
    };
    Msg::JoinLoaded { step, at, result }
}

/// Plan (without running) the graph of `recipe`, with polars' plan of one
/// map task and what each partition covers.
fn plan_graph(
    recipe: Recipe,
    base: &Path,
    source: Arc<Source>,
    from_result: Option<ResultBase>,
) -> Result<PlannedGraph, String> {
    let steps = recipe.steps.clone();
    // From a computed result: the graph of the steps after it, on it.
    let (recipe, source, _kept) = match &from_result {
        Some(r) => {
            let rest = Recipe {
                source: recipe.source,
                steps: steps[r.steps..].to_vec(),
            };
            on_result(rest, source, Some(r))?
        }
        None => (recipe, source, None),
    };
    let job =
        Job::prepare_on(recipe, base, source, &JobOptions::default()).map_err(|e| e.to_string())?;
    let plan_text = job
        .map_plan_text()
        .unwrap_or_else(|e| format!("polars could not describe the plan: {e}"));
    let labels = (0..job.source.partitions.len())
        .map(|p| job.source.describe_partition(p))
        .collect();
    Ok(PlannedGraph {
        steps,
        graph: Arc::new(job.graph),
        plan_text,
        partition_labels: Arc::new(labels),
        from_result: from_result.map(|r| r.steps),
    })
}

/// A recipe to load into the explorer: it must read the open source.
fn load_recipe(path: &Path, current: &str) -> Result<(Recipe, PathBuf, Arc<JoinTables>), String> {
    let (recipe, base) = Recipe::load(path).map_err(|e| e.to_string())?;
    let spec = recipe.source.to_spec(&base).map_err(|e| e.to_string())?;
    let remote = crate::engine::input::storage::remote::url::is_remote;
    let same = if remote(&spec.path) || remote(current) {
        spec.path.trim_end_matches('/') == current.trim_end_matches('/')
    } else {
        std::fs::canonicalize(&spec.path).ok() == std::fs::canonicalize(current).ok()
    };
    if !same {
        return Err(format!(
            "{} reads {}, not the open source; open it with: quarry --recipe {}",
            path.display(),
            spec.path,
            path.display()
        ));
    }
    let joins = load_joins(&recipe, &base).map_err(|e| e.to_string())?;
    Ok((recipe, base, Arc::new(joins)))
}
