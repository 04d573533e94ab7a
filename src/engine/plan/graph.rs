//! The task graph: plain data. The executor runs it, the Graph view draws
//! it, `quarry graph` prints it (text, DOT, JSON), and tests inspect it.

use serde::Serialize;

use crate::engine::input::spec::format_bytes;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StageKind {
    /// One task per partition: read, fused row-local steps, partial work.
    Map,
    /// Merge partial results of a contiguous range of tasks (tree reduction).
    Combine,
    /// The last merge, then the steps that follow the blocking step.
    Finalize,
    /// All map outputs brought together because the step cannot be split.
    Gather,
    /// Map outputs concatenated in order (a map-only pipeline's result).
    Concat,
}

#[derive(Debug, Clone, Serialize)]
pub struct Stage {
    pub id: usize,
    pub name: String,
    pub kind: StageKind,
    /// Task ids of this stage.
    pub tasks: Vec<usize>,
    /// Largest number of inputs per task (1 for map tasks).
    pub fan_in: usize,
    /// Why this stage gathers all rows, when it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gather_reason: Option<String>,
    /// Estimated input bytes for the whole stage (0 when unknown/small).
    pub est_bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Task {
    pub id: usize,
    pub stage: usize,
    /// For map tasks, the partition index.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partition: Option<usize>,
    pub deps: Vec<usize>,
    pub est_bytes: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct TaskGraph {
    pub stages: Vec<Stage>,
    pub tasks: Vec<Task>,
    /// Parquet row groups the job's filters exclude by their statistics.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<crate::engine::input::parquet_skip::Skipped>,
}

impl TaskGraph {
    pub fn add_stage(&mut self, name: impl Into<String>, kind: StageKind) -> usize {
        let id = self.stages.len();
        self.stages.push(Stage {
            id,
            name: name.into(),
            kind,
            tasks: Vec::new(),
            fan_in: 0,
            gather_reason: None,
            est_bytes: 0,
        });
        id
    }

    pub fn add_task(
        &mut self,
        stage: usize,
        partition: Option<usize>,
        deps: Vec<usize>,
        est_bytes: u64,
    ) -> usize {
        let id = self.tasks.len();
        let s = &mut self.stages[stage];
        s.fan_in = s.fan_in.max(deps.len().max(1));
        s.est_bytes += est_bytes;
        s.tasks.push(id);
        self.tasks.push(Task {
            id,
            stage,
            partition,
            deps,
            est_bytes,
        });
        id
    }

    /// Tasks that depend on each task.
    pub fn dependents(&self) -> Vec<Vec<usize>> {
        let mut out = vec![Vec::new(); self.tasks.len()];
        for t in &self.tasks {
            for &d in &t.deps {
                out[d].push(t.id);
            }
        }
        out
    }

    /// `read-csv+filter ×128 → combine ×16 → groupby-agg ×1`
    pub fn summary(&self) -> String {
        self.stages
            .iter()
            .map(|s| {
                let g = if s.kind == StageKind::Gather {
                    " (gather)"
                } else {
                    ""
                };
                format!("{} ×{}{g}", s.name, s.tasks.len())
            })
            .collect::<Vec<_>>()
            .join(" → ")
    }

    /// The layered text form `quarry graph` prints.
    pub fn to_text(&self) -> String {
        let mut out = self.summary();
        out.push_str("\n\n");
        let width = self.stages.iter().map(|s| s.name.len()).max().unwrap_or(5);
        for s in &self.stages {
            let kind = format!("{:?}", s.kind).to_lowercase();
            let input = if s.est_bytes > 0 {
                format!("  input ≈ {}", format_bytes(s.est_bytes))
            } else {
                String::new()
            };
            out.push_str(&format!(
                "stage {}  {:<width$}  ×{:<6} {:<8} fan-in {:<3}{input}\n",
                s.id + 1,
                s.name,
                s.tasks.len(),
                kind,
                s.fan_in,
            ));
            if let Some(r) = &s.gather_reason {
                out.push_str(&format!("         gathers all rows: {r}\n"));
            }
        }
        out.push_str(&format!("{} tasks\n", self.tasks.len()));
        if let Some(line) = self.skipped_line() {
            out.push_str(&line);
            out.push('\n');
        }
        out
    }

    /// What the row-group statistics skip, as one line (`None`: nothing to
    /// say: not Parquet, or no filter to use).
    pub fn skipped_line(&self) -> Option<String> {
        let s = self.skipped.as_ref()?;
        Some(format!(
            "statistics skip {} of {} row groups ({} of {} partitions read nothing)",
            s.row_groups,
            s.of_row_groups,
            s.partitions_skipped(),
            s.partitions.len()
        ))
    }

    /// Graphviz: one node per task, clustered by stage.
    pub fn to_dot(&self) -> String {
        let mut out = String::from(
            "digraph quarry {\n  rankdir=LR;\n  node [shape=box, style=rounded, fontsize=10];\n",
        );
        for s in &self.stages {
            out.push_str(&format!(
                "  subgraph cluster_{} {{\n    label=\"{} ×{}\";\n",
                s.id,
                s.name.replace('"', "'"),
                s.tasks.len()
            ));
            for &t in &s.tasks {
                let task = &self.tasks[t];
                let label = match task.partition {
                    Some(p) => format!("{} #{p}", s.name.split('+').next().unwrap_or("map")),
                    None => s.name.clone(),
                };
                let color = if s.kind == StageKind::Gather {
                    ", color=red"
                } else {
                    ""
                };
                out.push_str(&format!(
                    "    t{t} [label=\"{}\"{color}];\n",
                    label.replace('"', "'")
                ));
            }
            out.push_str("  }\n");
        }
        for t in &self.tasks {
            for d in &t.deps {
                out.push_str(&format!("  t{d} -> t{};\n", t.id));
            }
        }
        out.push_str("}\n");
        out
    }
}
