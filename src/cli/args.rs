//! The command line's arguments: one struct per subcommand, and the
//! conversions from flags to engine specs.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};

use crate::engine::input::spec::{
    parse_bytesize, parse_dtype_override, Encoding, Format, RecordSeparator, SourceSpec,
};
use crate::engine::input::spool::Spool;
use crate::engine::run::exec::dask::{DaskExecutor, DaskTarget, Transport};
use crate::engine::run::exec::local::LocalExecutor;
use crate::engine::run::exec::Executor;
use crate::engine::{QuarryError, Result};

#[derive(Parser, Debug)]
#[command(
    name = "quarry",
    version,
    about = "Explore data files too big to open: partitioned, lazy, with live previews.",
    long_about = None
)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub tui: TuiArgs,
}

/// `quarry PATH [--recipe R]`: the interactive explorer.
#[derive(Args, Debug)]
pub struct TuiArgs {
    /// A file, directory, quoted glob or URL to explore; - (or nothing, when
    /// data is piped in) reads standard input.
    #[arg(num_args = 0..)]
    pub path: Vec<String>,
    /// Start from a recipe's source and steps.
    #[arg(long)]
    pub recipe: Option<PathBuf>,
    /// Refuse a recipe that reads outside its own directory (source, joins,
    /// SQL table functions): for recipes you did not write.
    #[arg(long)]
    pub safe: bool,
    /// Colour theme: dark, light, mono (or a file in the config directory).
    /// Default: light or dark as the terminal's COLORFGBG says, else dark.
    #[arg(long)]
    pub theme: Option<String>,
    /// Keymap: default (vim-like), simple (arrows), or a file in the config directory.
    #[arg(long, default_value = "default")]
    pub keymap: String,
    /// Do not capture the mouse (wheel scrolling off).
    #[arg(long)]
    pub no_mouse: bool,
    /// Neither recall nor keep prompt history (also QUARRY_NO_HISTORY=1).
    /// It is kept per prompt kind in the state directory
    /// ($XDG_STATE_HOME/quarry/history, or $QUARRY_STATE_DIR/history).
    #[arg(long)]
    pub no_history: bool,
    /// Input format, overriding the file extension.
    #[arg(long = "input-format", value_name = "FORMAT")]
    pub input_format: Option<Format>,
    /// Partition size (e.g. 64MiB).
    #[arg(long, value_name = "SIZE", value_parser = parse_size_arg)]
    pub blocksize: Option<u64>,
    /// Text records: line, blank or a literal separator.
    #[arg(long = "record-sep", value_name = "SEP")]
    pub record_sep: Option<String>,
    /// Override a column's dtype: COLUMN=TYPE.
    #[arg(long = "dtype", value_name = "COL=TYPE", value_parser = parse_dtype_arg)]
    pub dtypes: Vec<(String, String)>,
    #[command(flatten)]
    pub exec: ExecArgs,
}

/// Where computes run: the local executor (default) or a Dask cluster.
#[derive(Args, Debug, Clone, Default)]
pub struct ExecArgs {
    /// Local executor: worker threads (default: the number of cores).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Local executor: memory budget for partitions in flight (default: a quarter of RAM).
    #[arg(long, value_name = "SIZE", value_parser = parse_size_arg)]
    pub memory: Option<u64>,
    /// Run on the Dask scheduler at this address, e.g. tcp://10.0.0.5:8786
    /// (also QUARRY_SCHEDULER).
    #[arg(long, value_name = "ADDRESS")]
    pub scheduler: Option<String>,
    /// Run on the Dask scheduler named in this scheduler file (also
    /// QUARRY_SCHEDULER_FILE).
    #[arg(long, value_name = "FILE")]
    pub scheduler_file: Option<PathBuf>,
    /// Run on a local Dask cluster of N workers (127.0.0.1 only): Dask
    /// without a cluster, to try it.
    #[arg(long, value_name = "N")]
    pub local_dask: Option<usize>,
    /// Dask: the Python that has dask[distributed] (default: python3).
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,
    /// Dask: the quarry binary the workers run (default: this one; it must
    /// be at the same path on every worker).
    #[arg(long, value_name = "PATH")]
    pub worker_binary: Option<PathBuf>,
    /// Dask: directory for task outputs, on a filesystem every worker shares
    /// (default: the cache directory), or a store prefix every worker
    /// reaches (s3://bucket/prefix, reached as the source is).
    #[arg(long, value_name = "DIR")]
    pub scratch: Option<PathBuf>,
    /// Dask: keep the scratch files after the job (for debugging).
    #[arg(long)]
    pub keep_scratch: bool,
    /// Dask: how task data moves. `shared`: through --scratch on a shared
    /// filesystem; `dask`: no shared filesystem, outputs stay in worker
    /// memory; `auto` (default): shared when every worker sees --scratch.
    #[arg(long, value_name = "MODE", default_value = "auto")]
    pub transport: Transport,
}

impl ExecArgs {
    /// The Dask cluster to use, if any: --local-dask, then --scheduler /
    /// QUARRY_SCHEDULER, then --scheduler-file / QUARRY_SCHEDULER_FILE.
    pub fn dask_target(&self) -> Result<Option<DaskTarget>> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let address = self.scheduler.clone().or_else(|| env("QUARRY_SCHEDULER"));
        let file = self
            .scheduler_file
            .clone()
            .or_else(|| env("QUARRY_SCHEDULER_FILE").map(PathBuf::from));
        if self.scheduler.is_some() && self.scheduler_file.is_some() {
            return Err(QuarryError::Usage(
                "give --scheduler or --scheduler-file, not both".into(),
            ));
        }
        Ok(match (self.local_dask, address, file) {
            (Some(0), _, _) => {
                return Err(QuarryError::Usage(
                    "--local-dask needs at least 1 worker".into(),
                ))
            }
            (Some(n), _, _) => Some(DaskTarget::Local(n)),
            (None, Some(a), _) => Some(DaskTarget::Address(a)),
            (None, None, Some(f)) => {
                if !f.is_file() {
                    return Err(QuarryError::Usage(format!(
                        "{}: no such scheduler file.
The Dask scheduler writes it when started with --scheduler-file; check the path (it must be on a filesystem this machine sees).",
                        f.display()
                    )));
                }
                Some(DaskTarget::SchedulerFile(f))
            }
            (None, None, None) => None,
        })
    }

    pub fn executor(&self) -> Result<Arc<dyn Executor>> {
        Ok(match self.dask_target()? {
            Some(target) => {
                let mut d = DaskExecutor::new(target);
                if let Some(p) = &self.python {
                    d.python = p.clone();
                }
                if let Some(b) = &self.worker_binary {
                    d.worker_binary = b.clone();
                }
                if let Some(s) = &self.scratch {
                    d.scratch = s.clone();
                }
                d.keep_scratch = self.keep_scratch;
                d.transport = self.transport;
                Arc::new(d)
            }
            None => {
                let workers = self.workers.unwrap_or_else(|| {
                    std::thread::available_parallelism()
                        .map(|n| n.get())
                        .unwrap_or(1)
                });
                let memory = self
                    .memory
                    .unwrap_or_else(LocalExecutor::default_memory_budget);
                Arc::new(LocalExecutor::new(workers, memory))
            }
        })
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print the first rows of a file, glob or directory.
    Head(RowsArgs),
    /// Print rows sampled from a few random partitions.
    Take(TakeArgs),
    /// Print the inferred schema, file count, total bytes and partitions.
    Schema(SchemaArgs),
    /// Write deterministic demo data (ARCOS-like CSV, reviews text) and recipes.
    Demo(DemoArgs),
    /// Run a recipe (locally, or on a Dask cluster), with progress; write or print the result.
    Run(RunArgs),
    /// Print the task graph a recipe lowers to (text, --dot or --json).
    Graph(GraphArgs),
    /// Per-column statistics over the whole dataset, in one partitioned pass.
    Describe(DescribeArgs),
    /// Internal: run one task of a job on a Dask worker.
    #[command(hide = true)]
    ExecTask(ExecTaskArgs),
}

#[derive(Args, Debug)]
pub struct ExecTaskArgs {
    /// The job's scratch directory (holds job.json and task outputs).
    pub dir: PathBuf,
    /// The task's number in the job's graph.
    pub task: usize,
    /// A scratch prefix in an S3-compatible store: its endpoint.
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// A scratch prefix in a store: unsigned requests.
    #[arg(long)]
    pub anonymous: bool,
}

#[derive(Args, Debug)]
pub struct DescribeArgs {
    /// A file, directory or quoted glob (optional with --recipe: its source).
    pub path: Option<String>,
    /// Describe the data a recipe produces.
    #[arg(long)]
    pub recipe: Option<PathBuf>,
    /// With --recipe: the data as of step K (0 = the source; default: all steps).
    #[arg(long, value_name = "K", requires = "recipe")]
    pub step: Option<usize>,
    /// Only these columns (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "A,B")]
    pub columns: Vec<String>,
    /// Output: table (default) or json (every statistic, one object per column).
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Input format, overriding the file extension.
    #[arg(long = "input-format", value_name = "FORMAT")]
    pub input_format: Option<Format>,
    /// Partition size for splittable formats (e.g. 64MiB).
    #[arg(long, value_name = "SIZE", value_parser = parse_size_arg)]
    pub blocksize: Option<u64>,
    /// Override a column's dtype: COLUMN=TYPE.
    #[arg(long = "dtype", value_name = "COL=TYPE", value_parser = parse_dtype_arg)]
    pub dtypes: Vec<(String, String)>,
    /// Text records: line, blank or a literal separator.
    #[arg(long = "record-sep", value_name = "SEP")]
    pub record_sep: Option<String>,
    #[command(flatten)]
    pub exec: ExecArgs,
    /// Fan-in of combine tasks in tree reductions.
    #[arg(long, default_value_t = crate::engine::plan::lower::DEFAULT_SPLIT_EVERY)]
    pub split_every: usize,
    /// Stream every event as a JSON line on stderr.
    #[arg(long)]
    pub json_events: bool,
    /// Refuse a recipe that reads outside its own directory (source, joins,
    /// SQL table functions): for recipes you did not write.
    #[arg(long)]
    pub safe: bool,
}

impl DescribeArgs {
    pub fn source_args(&self, path: String) -> SourceArgs {
        SourceArgs {
            path,
            input_format: self.input_format,
            blocksize: self.blocksize,
            dtypes: self.dtypes.clone(),
            delimiter: None,
            no_header: false,
            quote: None,
            no_quote: false,
            null_values: Vec::new(),
            no_null_tokens: false,
            record_sep: self.record_sep.clone(),
            encoding: None,
            endpoint: None,
            anonymous: false,
        }
    }
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// The recipe (TOML).
    pub recipe: PathBuf,
    /// Write the result: a .parquet/.csv/.ndjson/.arrow file, or DIR/ for parts.
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: Option<String>,
    #[command(flatten)]
    pub exec: ExecArgs,
    /// Override the recipe's blocksize.
    #[arg(long, value_name = "SIZE", value_parser = parse_size_arg)]
    pub blocksize: Option<u64>,
    /// Fan-in of combine tasks in tree reductions.
    #[arg(long, default_value_t = crate::engine::plan::lower::DEFAULT_SPLIT_EVERY)]
    pub split_every: usize,
    /// Stream every event as a JSON line on stderr.
    #[arg(long)]
    pub json_events: bool,
    /// Refuse a recipe that reads outside its own directory (source, joins,
    /// SQL table functions): for recipes you did not write.
    #[arg(long)]
    pub safe: bool,
    /// Rows of the result to print when there is no --output.
    #[arg(long, default_value_t = 50)]
    pub show: usize,
}

#[derive(Args, Debug)]
pub struct GraphArgs {
    /// The recipe (TOML).
    pub recipe: PathBuf,
    /// Graphviz DOT, one node per task.
    #[arg(long, conflicts_with = "json")]
    pub dot: bool,
    /// JSON for tools.
    #[arg(long)]
    pub json: bool,
    /// Override the recipe's blocksize.
    #[arg(long, value_name = "SIZE", value_parser = parse_size_arg)]
    pub blocksize: Option<u64>,
    /// Fan-in of combine tasks in tree reductions.
    #[arg(long, default_value_t = crate::engine::plan::lower::DEFAULT_SPLIT_EVERY)]
    pub split_every: usize,
}

/// How to read the source; shared by every command that reads one.
#[derive(Args, Debug, Clone)]
pub struct SourceArgs {
    /// A file, a directory, or a (quoted) glob such as 'logs/2019-*.json'.
    pub path: String,
    /// Input format, overriding the file extension.
    #[arg(long = "input-format", value_name = "FORMAT")]
    pub input_format: Option<Format>,
    /// Partition size for splittable formats (e.g. 64MiB, 16MB).
    #[arg(long, value_name = "SIZE", value_parser = parse_size_arg)]
    pub blocksize: Option<u64>,
    /// Override a column's dtype: COLUMN=TYPE (str, i64, f64, bool, date, ...).
    #[arg(long = "dtype", value_name = "COL=TYPE", value_parser = parse_dtype_arg)]
    pub dtypes: Vec<(String, String)>,
    /// CSV delimiter (one character; `\t` for tab). Sniffed when absent.
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<String>,
    /// The CSV has no header row: columns are named column_1, column_2, ...
    #[arg(long)]
    pub no_header: bool,
    /// CSV quote character (default `"`).
    #[arg(long, value_name = "CHAR")]
    pub quote: Option<String>,
    /// Disable CSV quoting altogether.
    #[arg(long, conflicts_with = "quote")]
    pub no_quote: bool,
    /// A string read as null (repeatable), e.g. --null NA --null -.
    #[arg(long = "null", value_name = "TEXT")]
    pub null_values: Vec<String>,
    /// Do not read NA, N/A, NULL, - and the like as null in numeric columns.
    #[arg(long)]
    pub no_null_tokens: bool,
    /// Text records: `line` (default), `blank` (blank-line separated) or a literal separator.
    #[arg(long = "record-sep", value_name = "SEP")]
    pub record_sep: Option<String>,
    /// Text encoding: utf8 (default, invalid bytes are an error) or utf8-lossy.
    #[arg(long, value_name = "ENC")]
    pub encoding: Option<String>,
    /// The endpoint of an S3-compatible store (MinIO, Ceph) for s3:// paths,
    /// e.g. http://127.0.0.1:9000 (AWS_ENDPOINT_URL works too).
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Unsigned requests to the store, for public buckets.
    #[arg(long)]
    pub anonymous: bool,
}

#[derive(Args, Debug)]
pub struct RowsArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Number of rows.
    #[arg(short = 'n', long = "rows", default_value_t = 20)]
    pub n: usize,
    /// Output: table (default), csv or json. An input format name
    /// (tsv, ndjson, parquet, ipc, text) here sets the input format instead.
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
}

#[derive(Args, Debug)]
pub struct TakeArgs {
    #[command(flatten)]
    pub rows: RowsArgs,
    /// Seed for the random sample (same seed, same rows).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

#[derive(Args, Debug)]
pub struct SchemaArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Output: table (default) or json. An input format name sets the input format.
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Where to write the demo files (default: quarry's cache directory).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Rows of the ARCOS-like CSV (the reviews file gets rows/20 records).
    #[arg(long, default_value_t = 1_000_000)]
    pub rows: u64,
    /// Only write the files and print their paths.
    #[arg(long)]
    pub no_tui: bool,
}

fn parse_size_arg(s: &str) -> std::result::Result<u64, String> {
    parse_bytesize(s).map_err(|e| e.to_string())
}

fn parse_dtype_arg(s: &str) -> std::result::Result<(String, String), String> {
    parse_dtype_override(s).map_err(|e| e.to_string())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Table,
    Csv,
    Json,
}

/// `--format` names either an output format or, for values that can only be
/// an input format, the input format (`--format text --record-sep blank`).
pub fn split_format(
    format: Option<&str>,
    allowed: &[OutputFormat],
) -> Result<(OutputFormat, Option<Format>)> {
    let Some(f) = format else {
        return Ok((OutputFormat::Table, None));
    };
    let out = match f.to_ascii_lowercase().as_str() {
        "table" => Some(OutputFormat::Table),
        "csv" => Some(OutputFormat::Csv),
        "json" => Some(OutputFormat::Json),
        _ => None,
    };
    match out {
        Some(o) if allowed.contains(&o) => Ok((o, None)),
        Some(_) if f.eq_ignore_ascii_case("csv") => Ok((OutputFormat::Table, Some(Format::Csv))),
        _ => match Format::parse(f) {
            Ok(input) => Ok((OutputFormat::Table, Some(input))),
            Err(_) => Err(QuarryError::Usage(format!(
                "--format `{f}` is neither an output format ({}) nor an input format (csv, tsv, ndjson, parquet, ipc, text)",
                allowed
                    .iter()
                    .map(|o| format!("{o:?}").to_lowercase())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        },
    }
}

fn one_byte(flag: &str, s: &str) -> Result<u8> {
    let s = match s {
        "\\t" | "tab" => "\t",
        other => other,
    };
    match s.as_bytes() {
        [b] => Ok(*b),
        _ => Err(QuarryError::Usage(format!(
            "{flag} takes one ASCII character, got `{s}`"
        ))),
    }
}

impl SourceArgs {
    /// The source these flags describe. A path of `-` reads standard input,
    /// spooled whole to the cache directory first; the spool (returned)
    /// removes its file when dropped, so hold it for the command's length.
    pub fn to_spec(&self, format_from_flag: Option<Format>) -> Result<(SourceSpec, Option<Spool>)> {
        let format = self.input_format.or(format_from_flag);
        let (path, spool) = if self.path == "-" {
            let mut spool = Spool::start(
                std::io::stdin(),
                &crate::engine::run::persist::cache_root().join("stdin"),
                format,
            )?;
            spool.wait()?;
            (spool.path.to_string_lossy().into_owned(), Some(spool))
        } else {
            (self.path.clone(), None)
        };
        let mut spec = SourceSpec::new(path);
        spec.format = format.or(spool.as_ref().map(|s| s.format));
        if let Some(b) = self.blocksize {
            spec.blocksize = b;
        }
        spec.dtypes = self.dtypes.iter().cloned().collect::<BTreeMap<_, _>>();
        if let Some(d) = &self.delimiter {
            spec.delimiter = Some(one_byte("--delimiter", d)?);
        }
        spec.has_header = !self.no_header;
        if self.no_quote {
            spec.quote = None;
        } else if let Some(q) = &self.quote {
            spec.quote = Some(one_byte("--quote", q)?);
        }
        spec.null_values = self.null_values.clone();
        spec.null_tokens = !self.no_null_tokens;
        if let Some(r) = &self.record_sep {
            spec.record_separator = RecordSeparator::parse(r)?;
        }
        if let Some(e) = &self.encoding {
            spec.encoding = Encoding::parse(e)?;
        }
        spec.store.endpoint = self.endpoint.clone();
        spec.store.anonymous = self.anonymous;
        Ok((spec, spool))
    }
}
