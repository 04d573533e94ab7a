//! Remote inputs and outputs against real servers on 127.0.0.1: an HTTP
//! server with Range support (`scripts/servers/range_http.py`, which counts
//! requests) and moto's standalone S3 server. `scripts/test.sh` installs
//! them and sets QUARRY_REQUIRE_REMOTE=1, which makes a missing server a
//! failure; elsewhere these tests say why they skip.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use polars::prelude::*;
use quarry::engine::input::storage::remote::options::StoreOptions;
use quarry::engine::{Source, SourceSpec};

const SECRET: &str = "quarrySecretValue0123456789";

fn python() -> Option<PathBuf> {
    let python = std::env::var_os("QUARRY_TEST_PYTHON").map(PathBuf::from);
    match python {
        Some(p) if p.is_file() => Some(p),
        _ => {
            assert!(
                std::env::var_os("QUARRY_REQUIRE_REMOTE").is_none(),
                "QUARRY_REQUIRE_REMOTE is set but QUARRY_TEST_PYTHON names no Python"
            );
            eprintln!("no test Python: run scripts/test.sh for the remote-storage tests");
            None
        }
    }
}

/// A server process, killed when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn range(python: &Path, root: &Path) -> Server {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/servers/range_http.py");
        let mut child = Command::new(python)
            .arg(script)
            .arg(root)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the range server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().expect("the server prints its port");
        Server { child, port }
    }

    /// moto on a port the system picks as it binds (`-p 0`), read from the
    /// line its server prints: a port picked here and handed over could be
    /// taken by another test's socket before moto binds it.
    fn moto(python: &Path) -> Server {
        let child = Command::new(python)
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start moto");
        Server::listening_as_printed(child, "moto", "Running on http://127.0.0.1:", false)
    }

    /// A server started on port 0: its port, from the first line of its
    /// output (stderr, or stdout when `stdout`) that holds `marker`; the
    /// rest of that output is drained (servers log every request).
    fn listening_as_printed(mut child: Child, what: &str, marker: &str, stdout: bool) -> Server {
        let output: Box<dyn Read + Send> = if stdout {
            Box::new(child.stdout.take().unwrap())
        } else {
            Box::new(child.stderr.take().unwrap())
        };
        let mut lines = BufReader::new(output).lines();
        let port = loop {
            let line = lines
                .next()
                .unwrap_or_else(|| panic!("{what} printed no address"))
                .unwrap();
            if let Some(rest) = line.split(marker).nth(1) {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                break digits.parse::<u16>().expect("a port number");
            }
        };
        std::thread::spawn(move || lines.for_each(drop));
        let server = Server { child, port };
        server.wait_until_listening(what);
        server
    }

    /// Azure's storage emulator (blob service only), from the binary
    /// `scripts/test.sh` installs and names in QUARRY_TEST_AZURITE.
    fn azurite(data: &Path) -> Option<Server> {
        let Some(bin) = std::env::var_os("QUARRY_TEST_AZURITE").map(PathBuf::from) else {
            assert!(
                std::env::var_os("QUARRY_REQUIRE_REMOTE").is_none(),
                "QUARRY_REQUIRE_REMOTE is set but QUARRY_TEST_AZURITE names no azurite"
            );
            eprintln!("no azurite: run scripts/test.sh for the Azure tests");
            return None;
        };
        // Port 0 too: azurite prints the port it listens on.
        let child = Command::new(bin)
            .args(["--blobHost", "127.0.0.1", "--blobPort", "0"])
            .arg("--location")
            .arg(data)
            .args(["--silent", "--skipApiVersionCheck"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start azurite");
        Some(Server::listening_as_printed(
            child,
            "azurite",
            "successfully listens on http://127.0.0.1:",
            true,
        ))
    }

    /// Wait (a minute at most) until the server accepts connections.
    fn wait_until_listening(&self, what: &str) {
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{what} did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A plain HTTP/1.1 request; the body.
    fn request(&self, method: &str, path: &str) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out.split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default()
    }

    /// The range server's request and byte counts since the last reset.
    fn stats(&self) -> (u64, u64) {
        let body = self.request("GET", "/__stats");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        (
            v["requests"].as_u64().unwrap(),
            v["bytes"].as_u64().unwrap(),
        )
    }

    fn reset(&self) {
        self.request("POST", "/__reset");
    }
}

/// Run a boto3 script against moto (bucket setup, listing uploads).
fn boto(python: &Path, moto: &Server, script: &str) -> String {
    let prelude = format!(
        "import boto3\ns3 = boto3.client('s3', endpoint_url='{}', aws_access_key_id='test', aws_secret_access_key='test', region_name='us-east-1')\n",
        moto.url()
    );
    python_script(python, "boto3", &(prelude + script))
}

/// Run `script` with the test Python; its standard output (`client` names
/// the library in a failure).
fn python_script(python: &Path, client: &str, script: &str) -> String {
    let out = Command::new(python).arg("-c").arg(script).output().unwrap();
    assert!(
        out.status.success(),
        "{client}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn quarry(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_quarry"));
    cmd.args(args).env("NO_COLOR", "1");
    for var in [
        "AWS_ENDPOINT_URL",
        "AWS_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    ] {
        cmd.env_remove(var);
    }
    // No instance-metadata lookups from a test machine.
    cmd.env("AWS_EC2_METADATA_DISABLED", "true");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn moto_env(moto: &Server) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", moto.url()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", SECRET.into()),
        ("AWS_REGION", "us-east-1".into()),
    ]
}

fn envs<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    v.iter().map(|(k, s)| (*k, s.as_str())).collect()
}

fn stdout(o: &Output) -> String {
    assert!(
        o.status.success(),
        "quarry failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A CSV with text, numbers with leading zeros, nulls and quoted commas.
fn csv_bytes(rows: usize, seed: u64) -> Vec<u8> {
    let mut out = b"id,city,zip,amount,note\n".to_vec();
    let cities = ["Austin", "Boston", "Chicago", "Denver", "El Paso"];
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
    for i in 0..rows {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let city = cities[(x >> 33) as usize % cities.len()];
        let amount = if i % 97 == 0 {
            "NA".to_string()
        } else {
            format!("{}.{:02}", (x >> 40) % 10_000, (x >> 20) % 100)
        };
        let note = if i % 5 == 0 { "\"a, quoted\"" } else { "plain" };
        writeln!(out, "{i},{city},{:05},{amount},{note}", (x >> 24) % 100_000).unwrap();
    }
    out
}

fn write_parquet(path: &Path, rows: usize, row_group: usize) {
    let ids: Vec<i64> = (0..rows as i64).collect();
    let names: Vec<String> = (0..rows).map(|i| format!("name-{}", i % 1000)).collect();
    let values: Vec<f64> = (0..rows).map(|i| (i as f64).sqrt()).collect();
    // Hard to compress: most of the file's bytes.
    let wide: Vec<String> = (0..rows)
        .map(|i| {
            let h = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            format!(
                "{h:016x}{:016x}{:016x}",
                h.rotate_left(21) ^ 0xA5A5,
                h.rotate_left(42)
            )
        })
        .collect();
    let mut df = df!("id" => ids, "name" => names, "value" => values, "wide" => wide).unwrap();
    let f = std::fs::File::create(path).unwrap();
    ParquetWriter::new(f)
        .with_row_group_size(Some(row_group))
        .finish(&mut df)
        .unwrap();
}

fn data_dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn http_head_of_a_large_csv_costs_at_most_four_requests() {
    let Some(py) = python() else { return };
    let dir = data_dir();
    std::fs::write(dir.path().join("big.csv"), csv_bytes(600_000, 1)).unwrap();
    let server = Server::range(&py, dir.path());
    let url = format!("{}/big.csv", server.url());
    let local = stdout(&quarry(
        &[
            "head",
            &dir.path().join("big.csv").to_string_lossy(),
            "--format",
            "csv",
        ],
        &[],
    ));
    server.reset();
    let remote = stdout(&quarry(&["head", &url, "--format", "csv"], &[]));
    assert_eq!(remote, local, "the remote head equals the local one");
    let (requests, bytes) = server.stats();
    let size = std::fs::metadata(dir.path().join("big.csv")).unwrap().len();
    assert!(requests <= 4, "{requests} requests for the first rows");
    assert!(
        bytes < size / 3,
        "{bytes} of {size} bytes fetched for the first rows"
    );
}

#[test]
fn http_parquet_head_and_projection_fetch_only_what_they_need() {
    let Some(py) = python() else { return };
    let dir = data_dir();
    let path = dir.path().join("t.parquet");
    write_parquet(&path, 2_000_000, 100_000);
    let size = std::fs::metadata(&path).unwrap().len();
    let server = Server::range(&py, dir.path());
    let url = format!("{}/t.parquet", server.url());

    let local = stdout(&quarry(
        &["head", &path.to_string_lossy(), "--format", "csv"],
        &[],
    ));
    server.reset();
    let remote = stdout(&quarry(&["head", &url, "--format", "csv"], &[]));
    assert_eq!(remote, local);
    let (requests, bytes) = server.stats();
    assert!(requests <= 4, "{requests} requests for a Parquet head");
    assert!(
        bytes < size / 4,
        "{bytes} of {size} bytes for a Parquet head"
    );

    // A sum of one narrow column reads that column's chunks, not `wide`.
    let recipe = dir.path().join("sum.toml");
    std::fs::write(
        &recipe,
        format!(
            "[source]\npath = \"{url}\"\n\n[[steps]]\nop = \"group_by\"\nkeys = []\naggs = {{ total = \"sum(value)\" }}\n"
        ),
    )
    .unwrap();
    server.reset();
    let out = stdout(&quarry(&["run", &recipe.to_string_lossy()], &[]));
    let expected: f64 = (0..2_000_000).map(|i| (i as f64).sqrt()).sum();
    let shown = format!("{}", expected.round() as i64);
    assert!(
        out.contains(&shown[..6]),
        "sum over the remote file: {out} (expected about {expected})"
    );
    let (_, bytes) = server.stats();
    assert!(
        bytes < size / 3,
        "the projection fetched {bytes} of {size} bytes (the wide column is most of it)"
    );
}

#[test]
fn http_errors_name_the_url_status_and_fix() {
    let Some(py) = python() else { return };
    let dir = data_dir();
    let server = Server::range(&py, dir.path());
    let forbidden = format!("{}/__status/403/data.csv", server.url());
    let o = quarry(&["head", &forbidden], &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains(&forbidden) && err.contains("403"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let missing = format!("{}/nope.csv", server.url());
    let o = quarry(&["head", &missing], &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains(&missing) && err.contains("no such object"),
        "{err}"
    );
    let failing = format!("{}/__status/503/data.csv", server.url());
    let start = Instant::now();
    let o = quarry(&["head", &failing], &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("503") && err.contains("retr"), "{err}");
    assert!(
        start.elapsed() >= Duration::from_millis(500),
        "retried with backoff"
    );
}

#[test]
fn partitions_over_http_equal_the_local_file_at_several_blocksizes() {
    let Some(py) = python() else { return };
    let dir = data_dir();
    std::fs::write(dir.path().join("p.csv"), csv_bytes(40_000, 7)).unwrap();
    let server = Server::range(&py, dir.path());
    let url = format!("{}/p.csv", server.url());
    for blocksize in [64 << 10, 200 << 10, 1 << 20] {
        let read = |path: &str| {
            let mut spec = SourceSpec::new(path);
            spec.blocksize = blocksize;
            let source = Source::open(spec).unwrap();
            let parts: Vec<DataFrame> = source
                .partitions
                .iter()
                .map(|p| source.read_partition(p.index).unwrap())
                .collect();
            (source.schema.clone(), parts)
        };
        let (local_schema, local) = read(&dir.path().join("p.csv").to_string_lossy());
        let (remote_schema, remote) = read(&url);
        assert_eq!(local_schema, remote_schema);
        assert_eq!(local.len(), remote.len(), "blocksize {blocksize}");
        assert!(local.len() > 1);
        for (a, b) in local.iter().zip(&remote) {
            assert!(a.equals_missing(b), "blocksize {blocksize}");
        }
    }
}

#[test]
fn a_server_that_dies_mid_run_gives_a_clear_error_after_retries() {
    let Some(py) = python() else { return };
    let dir = data_dir();
    std::fs::write(dir.path().join("d.csv"), csv_bytes(400_000, 3)).unwrap();
    let mut server = Server::range(&py, dir.path());
    let mut spec = SourceSpec::new(format!("{}/d.csv", server.url()));
    spec.blocksize = 256 << 10;
    let source = Source::open(spec).unwrap();
    source.read_partition(0).unwrap();
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    // A partition a third of the way in: no read so far fetched it.
    let unread = source.partitions.len() / 3;
    let start = Instant::now();
    let err = source.read_partition(unread).unwrap_err().to_string();
    assert!(err.contains("cannot connect"), "{err}");
    assert!(err.contains("/d.csv"), "{err}");
    assert!(
        start.elapsed() >= Duration::from_millis(500),
        "retried before giving up ({:?})",
        start.elapsed()
    );
}

#[test]
fn s3_prefixes_globs_and_outputs_match_the_local_run() {
    let Some(py) = python() else { return };
    let moto = Server::moto(&py);
    let dir = data_dir();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    for (i, name) in ["2019-01.csv", "2019-02.csv", "2020-01.csv"]
        .iter()
        .enumerate()
    {
        std::fs::write(logs.join(name), csv_bytes(5_000, i as u64)).unwrap();
    }
    boto(
        &py,
        &moto,
        &format!(
            "s3.create_bucket(Bucket='data')\nimport os\nfor n in sorted(os.listdir('{0}')):\n    s3.upload_file('{0}/' + n, 'data', 'logs/' + n)\ns3.put_object(Bucket='data', Key='logs/_SUCCESS', Body=b'')\n",
            logs.display()
        ),
    );
    let env = moto_env(&moto);
    let env = envs(&env);
    let group = "[[steps]]\nop = \"group_by\"\nkeys = [\"city\"]\naggs = { n = \"count(*)\", total = \"sum(amount)\" }\n\n[[steps]]\nop = \"sort\"\nby = [\"city\"]\n";
    let run = |path: &str, out: &Path| {
        let recipe = dir.path().join(format!(
            "r{}.toml",
            out.file_name().unwrap().to_string_lossy()
        ));
        std::fs::write(&recipe, format!("[source]\npath = \"{path}\"\n\n{group}")).unwrap();
        stdout(&quarry(
            &[
                "run",
                &recipe.to_string_lossy(),
                "-o",
                &out.to_string_lossy(),
            ],
            &env,
        ));
        std::fs::read_to_string(out).unwrap()
    };
    let local = run(&logs.to_string_lossy(), &dir.path().join("local.csv"));
    let prefix = run("s3://data/logs/", &dir.path().join("prefix.csv"));
    assert_eq!(prefix, local, "a prefix reads every object under it");
    let local_2019 = run(
        &format!("{}/2019-*.csv", logs.display()),
        &dir.path().join("local19.csv"),
    );
    let glob = run("s3://data/logs/2019-*.csv", &dir.path().join("glob.csv"));
    assert_eq!(glob, local_2019);
    assert_ne!(glob, local);

    // Written to the store: the object appears whole, and reads back equal.
    let recipe = dir.path().join("w.toml");
    std::fs::write(
        &recipe,
        format!("[source]\npath = \"s3://data/logs/\"\n\n{group}"),
    )
    .unwrap();
    stdout(&quarry(
        &[
            "run",
            &recipe.to_string_lossy(),
            "-o",
            "s3://data/out/result.csv",
        ],
        &env,
    ));
    let back = boto(
        &py,
        &moto,
        "import sys\nsys.stdout.write(s3.get_object(Bucket='data', Key='out/result.csv')['Body'].read().decode())",
    );
    assert_eq!(back, local);
    let uploads = boto(
        &py,
        &moto,
        "print(len(s3.list_multipart_uploads(Bucket='data').get('Uploads', [])))",
    );
    assert_eq!(uploads.trim(), "0");
}

#[test]
fn a_cancelled_upload_leaves_no_object_and_no_parts() {
    let Some(py) = python() else { return };
    let moto = Server::moto(&py);
    boto(&py, &moto, "s3.create_bucket(Bucket='out')");
    let dir = data_dir();
    let local = dir.path().join("big.bin");
    std::fs::write(&local, vec![7u8; 20 << 20]).unwrap();
    // moto takes unsigned requests: no credentials in this process's
    // environment are needed (or changed).
    let options = StoreOptions {
        endpoint: Some(moto.url()),
        anonymous: true,
    };
    let asked = std::sync::atomic::AtomicUsize::new(0);
    // Cancel after the first part has gone.
    let cancelled = || asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst) >= 1;
    let err =
        quarry::engine::run::upload::upload_file(&local, "s3://out/big.bin", &options, &cancelled)
            .unwrap_err()
            .to_string();
    assert!(err.contains("cancelled"), "{err}");
    let listing = boto(
        &py,
        &moto,
        "print(len(s3.list_multipart_uploads(Bucket='out').get('Uploads', [])), s3.list_objects_v2(Bucket='out').get('KeyCount'))",
    );
    assert_eq!(listing.trim(), "0 0", "no upload in progress, no object");
}

#[test]
fn anonymous_access_and_no_secret_in_any_output() {
    let Some(py) = python() else { return };
    let moto = Server::moto(&py);
    let dir = data_dir();
    std::fs::write(dir.path().join("a.csv"), csv_bytes(100, 1)).unwrap();
    boto(
        &py,
        &moto,
        &format!(
            "s3.create_bucket(Bucket='pub')\ns3.upload_file('{}', 'pub', 'a.csv', ExtraArgs={{'ACL': 'public-read'}})",
            dir.path().join("a.csv").display()
        ),
    );
    // Anonymous: no credentials at all, unsigned requests.
    let url = moto.url();
    let o = quarry(
        &["head", "s3://pub/a.csv", "--anonymous", "--endpoint", &url],
        &[],
    );
    assert!(stdout(&o).contains("Austin") || stdout(&o).contains("Boston"));

    // Failures with a secret in the environment never print it: a missing
    // object, a missing bucket, an unreachable endpoint, JSON events.
    let env = moto_env(&moto);
    let env = envs(&env);
    let mut seen = String::new();
    for args in [
        vec!["head", "s3://pub/missing.csv"],
        vec!["head", "s3://nobucket/a.csv"],
        vec!["schema", "s3://pub/a.csv", "--format", "json"],
        vec!["head", "s3://pub/a.csv", "--endpoint", "http://127.0.0.1:9"],
    ] {
        let o = quarry(&args, &env);
        seen.push_str(&String::from_utf8_lossy(&o.stdout));
        seen.push_str(&String::from_utf8_lossy(&o.stderr));
    }
    let recipe = dir.path().join("r.toml");
    std::fs::write(&recipe, "[source]\npath = \"s3://pub/missing/\"\n").unwrap();
    let o = quarry(&["run", &recipe.to_string_lossy(), "--json-events"], &env);
    seen.push_str(&String::from_utf8_lossy(&o.stdout));
    seen.push_str(&String::from_utf8_lossy(&o.stderr));
    assert!(seen.contains("no such object"), "{seen}");
    assert!(seen.contains("bucket does not exist"), "{seen}");
    assert!(seen.contains("cannot connect"), "{seen}");
    assert!(!seen.contains(SECRET), "a secret leaked: {seen}");
}

/// The cluster `scripts/test.sh` starts with workers that run as another
/// user, with another HOME, seeing nothing of this process's files.
fn isolated_cluster() -> Option<PathBuf> {
    match std::env::var_os("QUARRY_TEST_ISOLATED_SCHEDULER_FILE").map(PathBuf::from) {
        Some(f) if f.is_file() => Some(f),
        _ => {
            assert!(
                std::env::var_os("QUARRY_REQUIRE_ISOLATED_DASK").is_none(),
                "QUARRY_REQUIRE_ISOLATED_DASK is set but there is no isolated test cluster"
            );
            eprintln!("no isolated Dask cluster: scripts/test.sh (as root) starts one");
            None
        }
    }
}

/// Run `recipe` locally and on the isolated cluster (with `extra` options),
/// writing CSV: (local output, Dask output, Dask's JSON events).
fn local_and_isolated_dask(
    py: &Path,
    scheduler_file: &Path,
    recipe: &Path,
    extra: &[&str],
) -> (String, String, String) {
    let dir = recipe.parent().unwrap();
    // The workers' quarry: a copy they can execute (this one may sit under
    // an owner-only directory).
    let bin_dir = tempfile::Builder::new()
        .prefix("quarry-bin-")
        .tempdir()
        .unwrap();
    let binary = bin_dir.path().join("quarry");
    std::fs::copy(env!("CARGO_BIN_EXE_quarry"), &binary).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(bin_dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).unwrap();
    let local_out = dir.join("local.csv");
    let recipe = recipe.to_string_lossy();
    stdout(&quarry(
        &["run", &recipe, "-o", &local_out.to_string_lossy()],
        &[],
    ));
    let dask_out = dir.join("dask.csv");
    let (scheduler_file, py, binary, out) = (
        scheduler_file.to_string_lossy(),
        py.to_string_lossy(),
        binary.to_string_lossy(),
        dask_out.to_string_lossy(),
    );
    let mut args = vec![
        "run",
        &recipe,
        "--scheduler-file",
        &scheduler_file,
        "--python",
        &py,
        "--worker-binary",
        &binary,
        "--json-events",
        "-o",
        &out,
    ];
    args.extend_from_slice(extra);
    let o = quarry(&args, &[]);
    let events = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{events}");
    (
        std::fs::read_to_string(&local_out).unwrap(),
        std::fs::read_to_string(&dask_out).unwrap(),
        events,
    )
}

#[test]
fn dask_without_a_shared_filesystem_equals_the_local_run() {
    let Some(py) = python() else { return };
    let Some(scheduler_file) = isolated_cluster() else {
        return;
    };
    let dir = data_dir();
    std::fs::write(dir.path().join("d.csv"), csv_bytes(60_000, 11)).unwrap();
    let server = Server::range(&py, dir.path());

    let recipe = dir.path().join("r.toml");
    std::fs::write(
        &recipe,
        format!(
            "[source]\npath = \"{}/d.csv\"\nblocksize = \"256KiB\"\n\n[[steps]]\nop = \"filter\"\nexpr = \"amount > 10\"\n\n[[steps]]\nop = \"group_by\"\nkeys = [\"city\"]\naggs = {{ n = \"count(*)\", total = \"sum(amount)\" }}\n\n[[steps]]\nop = \"sort\"\nby = [\"city\"]\n",
            server.url()
        ),
    )
    .unwrap();
    let (local, dask, events) = local_and_isolated_dask(&py, &scheduler_file, &recipe, &[]);
    assert!(
        events.contains("no shared filesystem"),
        "quarry says which mode it uses: {events}"
    );
    assert_eq!(dask, local);
}

/// A CSV whose text fields hold delimiters, quotes and newlines, so block
/// cuts land inside quoted fields.
fn quoted_csv() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
    use proptest::prelude::*;
    let field = prop_oneof![
        3 => (-1000i64..1000).prop_map(|v| v.to_string()),
        3 => "[a-z,\n\"é ]{0,12}".prop_map(|s| format!("\"{}\"", s.replace('"', "\"\""))),
        1 => "[a-z]{1,6}",
    ];
    prop::collection::vec((field.clone(), field), 1..60).prop_map(|rows| {
        let mut out = b"a,b\n".to_vec();
        for (a, b) in rows {
            out.extend_from_slice(format!("{a},{b}\n").as_bytes());
        }
        out
    })
}

/// The partition rule holds through the remote backend: for any file and
/// blocksize, the partitions read over HTTP are the local partitions.
#[test]
fn remote_partitions_equal_local_partitions_for_any_blocksize() {
    use proptest::prelude::*;
    let Some(py) = python() else { return };
    let dir = data_dir();
    let server = Server::range(&py, dir.path());
    let case = std::sync::atomic::AtomicUsize::new(0);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 24,
        ..ProptestConfig::default()
    });
    runner
        .run(&(quoted_csv(), 8u64..300), |(bytes, blocksize)| {
            let name = format!(
                "c{}.csv",
                case.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            );
            std::fs::write(dir.path().join(&name), &bytes).unwrap();
            let read = |path: String| {
                let mut spec = SourceSpec::new(path);
                spec.blocksize = blocksize;
                spec.dtypes.insert("a".into(), "str".into());
                spec.dtypes.insert("b".into(), "str".into());
                let source = Source::open(spec).unwrap();
                source
                    .partitions
                    .iter()
                    .map(|p| source.read_partition(p.index).unwrap())
                    .collect::<Vec<_>>()
            };
            let local = read(dir.path().join(&name).to_string_lossy().into_owned());
            let remote = read(format!("{}/{name}", server.url()));
            prop_assert_eq!(local.len(), remote.len());
            for (a, b) in local.iter().zip(&remote) {
                prop_assert!(a.equals_missing(b), "local {a}\nremote {b}");
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn compressed_objects_are_streamed_and_equal_the_local_read() {
    let Some(py) = python() else { return };
    let dir = data_dir();
    let plain = csv_bytes(50_000, 5);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&plain).unwrap();
    std::fs::write(dir.path().join("z.csv.gz"), gz.finish().unwrap()).unwrap();
    let server = Server::range(&py, dir.path());
    let local = stdout(&quarry(
        &[
            "head",
            &dir.path().join("z.csv.gz").to_string_lossy(),
            "-n",
            "5000",
            "--format",
            "csv",
        ],
        &[],
    ));
    let remote = stdout(&quarry(
        &[
            "head",
            &format!("{}/z.csv.gz", server.url()),
            "-n",
            "5000",
            "--format",
            "csv",
        ],
        &[],
    ));
    assert_eq!(remote, local);
}

#[test]
fn an_unknown_host_says_so() {
    let o = quarry(&["head", "http://no-such-host.invalid/data.csv"], &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("http://no-such-host.invalid/data.csv") && err.contains("resolve"),
        "{err}"
    );
}

/// Ctrl-C stops requests in flight at once: the job does not wait for a
/// large range to arrive over a slow network.
#[test]
fn ctrl_c_stops_requests_in_flight() {
    let Some(py) = python() else { return };
    let dir = data_dir();
    std::fs::write(dir.path().join("s.csv"), csv_bytes(1_200_000, 9)).unwrap();
    let server = Server::range(&py, dir.path());
    let recipe = dir.path().join("r.toml");
    std::fs::write(
        &recipe,
        format!(
            "[source]\npath = \"{}/__slow/s.csv\"\nblocksize = \"16MiB\"\n\n[[steps]]\nop = \"group_by\"\nkeys = [\"city\"]\naggs = {{ n = \"count(*)\" }}\n",
            server.url()
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_quarry"))
        .args(["run", &recipe.to_string_lossy()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Long enough to be inside a slow 16 MiB read (about 8 s at 2 MB/s).
    std::thread::sleep(Duration::from_millis(2500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the job is still reading"
    );
    let sent = Instant::now();
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    let waited = sent.elapsed();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(!status.success(), "{err}");
    assert!(err.to_lowercase().contains("cancel"), "{err}");
    assert!(
        waited < Duration::from_millis(1500),
        "Ctrl-C took {waited:?} to stop the job"
    );
}

/// A bucket anyone may read and write: the workers and exec-task send
/// unsigned requests (`--anonymous`), with no credentials to pass around.
const PUBLIC_SCRATCH_BUCKET: &str = "import json\ns3.create_bucket(Bucket='scratch')\ns3.put_bucket_policy(Bucket='scratch', Policy=json.dumps({'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Principal': '*', 'Action': 's3:*', 'Resource': ['arn:aws:s3:::scratch', 'arn:aws:s3:::scratch/*']}]}))\n";

/// `--scratch s3://…`: the job description and task outputs in a store
/// prefix every worker reaches, removed with the job.
#[test]
fn a_scratch_prefix_in_a_store_holds_the_job_and_its_outputs() {
    use quarry::engine::recipe::Recipe;
    use quarry::engine::run::exec::local::LocalExecutor;
    use quarry::engine::run::exec::remote::{exec_task, read_frame, Scratch};
    use quarry::engine::run::exec::{CancelToken, Executor};
    use quarry::engine::run::job::{Job, JobOptions};
    use std::sync::Arc;

    let Some(py) = python() else { return };
    let moto = Server::moto(&py);
    boto(&py, &moto, PUBLIC_SCRATCH_BUCKET);
    let dir = data_dir();
    std::fs::write(dir.path().join("d.csv"), csv_bytes(30_000, 4)).unwrap();
    let recipe = Recipe::parse(
        "[source]\npath = 'd.csv'\n[[steps]]\nop = 'group_by'\nkeys = ['city']\naggs = { n = 'count(*)', t = 'sum(amount)' }\n",
    )
    .unwrap();
    let opts = JobOptions {
        blocksize: Some(64 * 1024),
        split_every: 3,
        ..JobOptions::default()
    };
    let job = Arc::new(Job::prepare(recipe, dir.path(), &opts).unwrap());
    let options = StoreOptions {
        endpoint: Some(moto.url()),
        anonymous: true,
    };
    let root = PathBuf::from("s3://scratch/jobs");
    let scratch = Scratch::create(&root, &job, false, &options).unwrap();
    let location = scratch.dir.to_string_lossy().into_owned();
    assert!(
        location.starts_with("s3://scratch/jobs/quarry-"),
        "{location}"
    );
    for t in 0..job.graph.tasks.len() {
        exec_task(&location, t, &options).unwrap();
    }
    let last = job.graph.tasks.len() - 1;
    let theirs = read_frame(&scratch.store, last).unwrap();
    let ours = LocalExecutor::new(2, 1 << 30)
        .execute(Arc::clone(&job), None, Arc::new(|_| {}), CancelToken::new())
        .unwrap()
        .frame
        .unwrap();
    let sort = |df: DataFrame| df.sort(["city"], SortMultipleOptions::default()).unwrap();
    assert!(sort(ours).equals_missing(&sort(theirs)));
    let listed = boto(
        &py,
        &moto,
        "print(s3.list_objects_v2(Bucket='scratch', Prefix='jobs/').get('KeyCount'))",
    );
    assert!(listed.trim().parse::<usize>().unwrap() > job.graph.tasks.len());
    drop(scratch);
    let listed = boto(
        &py,
        &moto,
        "print(s3.list_objects_v2(Bucket='scratch', Prefix='jobs/').get('KeyCount'))",
    );
    assert_eq!(listed.trim(), "0", "the scratch prefix outlived its job");
}

#[test]
fn dask_with_its_scratch_in_a_store_equals_the_local_run() {
    let Some(py) = python() else { return };
    let Some(scheduler_file) = isolated_cluster() else {
        return;
    };
    let moto = Server::moto(&py);
    boto(&py, &moto, PUBLIC_SCRATCH_BUCKET);
    let dir = data_dir();
    std::fs::write(dir.path().join("d.csv"), csv_bytes(40_000, 12)).unwrap();
    let server = Server::range(&py, dir.path());
    let recipe = dir.path().join("r.toml");
    std::fs::write(
        &recipe,
        format!(
            "[source]\npath = \"{}/d.csv\"\nblocksize = \"256KiB\"\nendpoint = \"{}\"\nanonymous = true\n\n[[steps]]\nop = \"group_by\"\nkeys = [\"city\"]\naggs = {{ n = \"count(*)\", total = \"sum(amount)\" }}\n\n[[steps]]\nop = \"sort\"\nby = [\"city\"]\n",
            server.url(),
            moto.url()
        ),
    )
    .unwrap();
    let (local, dask, events) = local_and_isolated_dask(
        &py,
        &scheduler_file,
        &recipe,
        &["--scratch", "s3://scratch/jobs"],
    );
    assert!(events.contains("scratch in s3://scratch/jobs"), "{events}");
    assert_eq!(dask, local);
    let listed = boto(
        &py,
        &moto,
        "print(s3.list_objects_v2(Bucket='scratch', Prefix='jobs/').get('KeyCount'))",
    );
    assert_eq!(listed.trim(), "0", "the scratch prefix outlived its job");
}

/// A job over a remote quoted CSV runs on guessed cuts and counts the
/// quotes of what each partition read: the file is fetched about once, not
/// once to count quotes and again to parse. Where a quoted line break lies
/// across a cut, the guess is caught and the job reads again on exact cuts;
/// either way the result is the local one.
#[test]
fn remote_quoted_csv_is_fetched_once_and_a_wrong_guess_is_read_again() {
    use quarry::engine::recipe::Recipe;
    use quarry::engine::run::events::Event;
    use quarry::engine::run::exec::local::LocalExecutor;
    use quarry::engine::run::exec::{CancelToken, Executor};
    use quarry::engine::run::job::{Job, JobOptions};
    use std::sync::{Arc, Mutex};

    let Some(py) = python() else { return };
    let dir = data_dir();
    // Quoted commas only, then the same with a quoted line break in every
    // 50th row (so some cut lands inside one).
    let plain = csv_bytes(400_000, 21);
    let spans: Vec<u8> = String::from_utf8(plain.clone())
        .unwrap()
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i % 50 == 7 {
                l.replace("\"a, quoted\"", "\"a,\nquoted\"")
                    .replace(",plain", ",\"two\nlines\"")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        .into_bytes();
    std::fs::write(dir.path().join("plain.csv"), &plain).unwrap();
    std::fs::write(dir.path().join("spans.csv"), [&spans[..], b"\n"].concat()).unwrap();
    let server = Server::range(&py, dir.path());
    // `opened` runs between opening the source (inference reads its head
    // and two spots) and running the job.
    let run = |path: String, opened: &dyn Fn()| {
        let recipe = Recipe::parse(&format!(
            "[source]\npath = '{path}'\n[source.dtypes]\nnote = 'str'\n[[steps]]\nop = 'group_by'\nkeys = ['city', 'note']\naggs = {{ n = 'count(*)', z = 'max(zip)' }}\n[[steps]]\nop = 'sort'\nby = ['city', 'note']\n"
        ))
        .unwrap();
        let opts = JobOptions {
            blocksize: Some(512 * 1024),
            ..JobOptions::default()
        };
        let job = Arc::new(Job::prepare(recipe, dir.path(), &opts).unwrap());
        assert!(job.source.partitions.len() > 10);
        opened();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let events = {
            let seen = Arc::clone(&seen);
            Arc::new(move |e: Event| seen.lock().unwrap().push(e))
        };
        let frame = LocalExecutor::new(2, 1 << 30)
            .execute(job, None, events, CancelToken::new())
            .unwrap()
            .frame
            .unwrap();
        let events = seen.lock().unwrap().clone();
        (frame, events)
    };
    let read_again = |events: &[Event]| events.iter().any(|e| matches!(e, Event::ReadAgain { .. }));
    let fetched = |events: &[Event]| {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Progress(p) => Some(p.bytes_fetched),
                _ => None,
            })
            .max()
            .unwrap_or(0)
    };

    for (name, bytes, spans_a_cut) in [("plain.csv", &plain, false), ("spans.csv", &spans, true)] {
        let (local, local_events) =
            run(dir.path().join(name).to_string_lossy().into_owned(), &|| {});
        assert!(!read_again(&local_events), "a local file never guesses");
        assert_eq!(fetched(&local_events), 0);
        let (remote, events) = run(format!("{}/{name}", server.url()), &|| server.reset());
        let (_, bytes_served) = server.stats();
        assert!(
            remote.equals_missing(&local),
            "{name}: remote {remote}\nlocal {local}"
        );
        assert_eq!(read_again(&events), spans_a_cut, "{name}");
        let size = bytes.len() as u64;
        if spans_a_cut {
            assert!(bytes_served > size, "{name}: read again, so more than once");
        } else {
            // Cut probes add a little (the old count of quotes fetched all
            // of it again).
            assert!(
                bytes_served < size + size / 10,
                "{name}: {bytes_served} bytes served for a {size}-byte file"
            );
            let progress = fetched(&events);
            assert!(
                progress >= size * 9 / 10 && progress <= bytes_served,
                "progress counted {progress} fetched bytes of {bytes_served} served"
            );
        }
    }
}

/// The emulator's well-known development account (public, in Azure's docs).
const AZURITE_ACCOUNT: &str = "devstoreaccount1";
const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// Run an azure-storage-blob script against azurite (`service` is the client).
fn azure_blob(python: &Path, azurite: &Server, script: &str) -> String {
    let prelude = format!(
        "from azure.storage.blob import BlobServiceClient\nservice = BlobServiceClient.from_connection_string('DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};BlobEndpoint={}/{AZURITE_ACCOUNT};')\n",
        azurite.url()
    );
    python_script(python, "azure-storage-blob", &(prelude + script))
}

/// `az://` through Azure's own emulator: a prefix and a glob read what the
/// local files hold, an output is uploaded in blocks and appears whole with
/// no uncommitted blocks left, and a missing container is named.
#[test]
fn azure_prefixes_globs_and_outputs_match_the_local_run() {
    let Some(py) = python() else { return };
    let dir = data_dir();
    let Some(azurite) = Server::azurite(&dir.path().join("azurite")) else {
        return;
    };
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    for (i, name) in ["2019-01.csv", "2019-02.csv", "2020-01.csv"]
        .iter()
        .enumerate()
    {
        std::fs::write(logs.join(name), csv_bytes(5_000, 30 + i as u64)).unwrap();
    }
    azure_blob(
        &py,
        &azurite,
        &format!(
            "service.create_container('data')\nimport os\nfor n in sorted(os.listdir('{0}')):\n    service.get_blob_client('data', 'logs/' + n).upload_blob(open('{0}/' + n, 'rb').read())\n",
            logs.display()
        ),
    );
    let env = [
        ("AZURE_STORAGE_USE_EMULATOR", "true".to_string()),
        ("AZURITE_BLOB_STORAGE_URL", azurite.url()),
    ];
    let env = envs(&env);
    let group = "[[steps]]\nop = \"group_by\"\nkeys = [\"city\"]\naggs = { n = \"count(*)\", total = \"sum(amount)\" }\n\n[[steps]]\nop = \"sort\"\nby = [\"city\"]\n";
    let run = |path: &str, out: &str| {
        let recipe = dir.path().join("r.toml");
        std::fs::write(&recipe, format!("[source]\npath = \"{path}\"\n\n{group}")).unwrap();
        stdout(&quarry(
            &["run", &recipe.to_string_lossy(), "-o", out],
            &env,
        ))
    };
    let local_out = dir.path().join("local.csv");
    run(&logs.to_string_lossy(), &local_out.to_string_lossy());
    let local = std::fs::read_to_string(&local_out).unwrap();

    let prefix_out = dir.path().join("prefix.csv");
    run("az://data/logs/", &prefix_out.to_string_lossy());
    assert_eq!(std::fs::read_to_string(&prefix_out).unwrap(), local);

    let glob_out = dir.path().join("glob.csv");
    run("az://data/logs/2019-*.csv", &glob_out.to_string_lossy());
    let local19_out = dir.path().join("local19.csv");
    run(
        &format!("{}/2019-*.csv", logs.display()),
        &local19_out.to_string_lossy(),
    );
    assert_eq!(
        std::fs::read_to_string(&glob_out).unwrap(),
        std::fs::read_to_string(&local19_out).unwrap()
    );

    // Written to the container, then read back by the Azure client.
    run("az://data/logs/", "az://data/out/result.csv");
    let back = azure_blob(
        &py,
        &azurite,
        "import sys\nsys.stdout.write(service.get_blob_client('data', 'out/result.csv').download_blob().readall().decode())",
    );
    assert_eq!(back, local);
    let listed = azure_blob(
        &py,
        &azurite,
        "print(sorted(b.name for b in service.get_container_client('data').list_blobs(name_starts_with='out/', include=['uncommittedblobs'])))",
    );
    assert_eq!(listed.trim(), "['out/result.csv']");

    // The first rows of a blob, and a container that does not exist.
    let head = stdout(&quarry(
        &["head", "az://data/logs/2020-01.csv", "-n", "3"],
        &env,
    ));
    assert!(head.contains("city"), "{head}");
    let missing = quarry(&["head", "az://nosuch/logs/x.csv"], &env);
    assert!(!missing.status.success());
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(err.contains("az://nosuch/logs/x.csv"), "{err}");
    assert!(!err.contains(AZURITE_KEY), "{err}");
}
