#!/usr/bin/env python3
"""quarry over HTTP beside quarry on the same local file, and beside polars
and DuckDB (httpfs) over the same URL: the ARCOS files of
../shared/bench/compare.py served by nginx on 127.0.0.1 (sendfile, Range
requests), alternated run by run.

    scripts/bench_remote.py --quarry BIN [--size 2] [--runs 5]
        [--workloads head,head-pq,arcos] [--duckdb-python PY]

Prints per workload and tool the median, min and max wall seconds, the
requests the server logged per run, and the ratio remote / local. DuckDB
needs its httpfs extension: --duckdb-python names a Python whose duckdb has
the `duckdb-extension-httpfs` package beside it (PyPI), e.g. a venv with
`duckdb==1.5.2 duckdb-extension-httpfs==1.5.2`.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "shared", "bench"))
import compare  # noqa: E402  (the shared harness: data, recipes, peer commands)

NGINX_CONF = """
daemon off;
user root;
worker_processes 2;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 256; }}
http {{
    access_log {dir}/access.log;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location / {{ }}
    }}
}}
"""

DUCKDB_CODE = """
import glob, os, sys, duckdb, duckdb_extension_httpfs as ext
con = duckdb.connect(config={{"allow_unsigned_extensions": True}})
path = glob.glob(os.path.join(ext.__path__[0], "extensions", "*", "httpfs.duckdb_extension"))[0]
con.install_extension(path)
con.load_extension("httpfs")
src = {src!r}
w = sys.argv[1]
if w == "w1":
    t = con.sql(f\"\"\"SELECT year(strptime(lpad(CAST(TRANSACTION_DATE AS VARCHAR), 8, '0'), '%m%d%Y')) AS year,
        BUYER_STATE, BUYER_COUNTY, sum(CALC_BASE_WT_IN_GM * TRY_CAST(MME_Conversion_Factor AS DOUBLE)) AS m
        FROM {{src}} GROUP BY ALL\"\"\").fetchall()
    print(len(t))
else:
    print(con.sql(f"SELECT * FROM {{src}} LIMIT 20").fetchall()[0][0])
"""


def start_nginx(root, port):
    d = tempfile.mkdtemp(prefix="quarry-nginx-")
    with open(os.path.join(d, "nginx.conf"), "w") as f:
        f.write(NGINX_CONF.format(dir=d, port=port, root=root))
    p = subprocess.Popen(["nginx", "-c", os.path.join(d, "nginx.conf")])
    for _ in range(100):
        if os.path.exists(os.path.join(d, "nginx.pid")):
            break
        time.sleep(0.05)
    time.sleep(0.2)
    return p, d


def log_lines(d):
    try:
        with open(os.path.join(d, "access.log")) as f:
            return sum(1 for _ in f)
    except FileNotFoundError:
        return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quarry", required=True)
    ap.add_argument("--size", type=int, default=2)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--workloads", default="head,head-pq,arcos")
    ap.add_argument("--port", type=int, default=18080)
    ap.add_argument("--duckdb-python", default="")
    ap.add_argument("--timeout", type=float, default=900)
    a = ap.parse_args()
    quarry = os.path.abspath(a.quarry)
    root = compare.HOME
    server, logdir = start_nginx(root, a.port)
    url = f"http://127.0.0.1:{a.port}"
    py = compare.python()
    peers = os.path.join(compare.HERE, "peers")
    try:
        for workload in a.workloads.split(","):
            base, _, variant = workload.partition("-")
            local = compare.data(f"arcos-{variant}" if variant else "arcos", a.size)
            remote = f"{url}/{os.path.basename(local)}"
            cmds = {}
            if base == "head":
                cmds["quarry local"] = [quarry, "head", local, "-n", "20"]
                cmds["quarry http"] = [quarry, "head", remote, "-n", "20"]
                cmds["polars http"] = [py, os.path.join(peers, "polars_arcos.py"), "w3", remote]
                w = "w3"
            else:
                cmds["quarry local"] = [quarry, "run", compare.recipe("arcos-local", compare.ARCOS_RECIPE, local)]
                cmds["quarry http"] = [quarry, "run", compare.recipe("arcos-http", compare.ARCOS_RECIPE, remote)]
                cmds["polars-streaming http"] = [py, os.path.join(peers, "polars_arcos.py"), "w1", remote,
                                                 "--variant", "streaming"]
                w = "w1"
            if a.duckdb_python:
                src = (f"read_parquet('{remote}')" if remote.endswith(".parquet")
                       else f"read_csv('{remote}', types={{'MME_Conversion_Factor': 'VARCHAR'}})")
                cmds["duckdb http"] = [a.duckdb_python, "-c", DUCKDB_CODE.format(src=src), w]
            for name, cmd in cmds.items():
                print(f"# {workload} {name}: {' '.join(cmd)[:200]}", file=sys.stderr)
                compare.run_once(cmd, a.timeout)  # warm-up
            runs = {n: [] for n in cmds}
            order = list(cmds)
            for i in range(a.runs):
                for name in order[i % len(order):] + order[: i % len(order)]:
                    before = log_lines(logdir)
                    wall, rss, out = compare.run_once(cmds[name], a.timeout)
                    time.sleep(0.05)  # nginx writes its log after the response
                    runs[name].append((wall, rss, out, log_lines(logdir) - before))
            med = {}
            for name, rs in runs.items():
                walls = [r[0] for r in rs if r[0] is not None]
                med[name] = statistics.median(walls) if walls else None
                reqs = statistics.median(r[3] for r in rs)
                rss = max((r[1] for r in rs if r[1] is not None), default=0)
                print(f"{workload:8} {name:22} median {med[name]:.3f} s  min {min(walls):.3f}  max {max(walls):.3f}"
                      f"  requests {reqs:g}  peak {rss:.0f} MiB  -> {rs[-1][2][:60]}")
            if med.get("quarry local") and med.get("quarry http"):
                print(f"{workload:8} quarry http / local = {med['quarry http'] / med['quarry local']:.2f}")
            sys.stdout.flush()
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(logdir, ignore_errors=True)


if __name__ == "__main__":
    main()
