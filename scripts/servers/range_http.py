#!/usr/bin/env python3
"""An HTTP file server with Range support, for quarry's remote-storage tests.

Serves the files under ROOT on 127.0.0.1 (HEAD, GET, single byte ranges)
and counts what it was asked, so tests can check how many requests and
bytes a read cost:

    python3 range_http.py ROOT [--port N]

prints the port it listens on as its first line. `GET /__stats` returns
{"requests": n, "bytes": n, "paths": {...}} and `POST /__reset` zeroes it.
Any path under `/__status/CODE/` answers with that status (403, 500, ...).
Under `/__slow/`, ranges longer than 4 MiB are sent at about 2 MB/s (a slow
network, for cancellation tests).
"""
import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.abspath(sys.argv[1])
PORT = int(sys.argv[sys.argv.index("--port") + 1]) if "--port" in sys.argv else 0
LOCK = threading.Lock()
STATS = {"requests": 0, "bytes": 0, "paths": {}}


def count(path, sent):
    with LOCK:
        STATS["requests"] += 1
        STATS["bytes"] += sent
        STATS["paths"][path] = STATS["paths"].get(path, 0) + 1


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _plain(self, code, body=b""):
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _file(self):
        rel = self.path.split("?", 1)[0].lstrip("/")
        if rel.startswith("__slow/"):
            rel = rel[len("__slow/"):]
        full = os.path.abspath(os.path.join(ROOT, rel))
        if not full.startswith(ROOT + os.sep) or not os.path.isfile(full):
            return None
        return full

    def do_POST(self):
        if self.path == "/__reset":
            with LOCK:
                STATS.update(requests=0, bytes=0, paths={})
            return self._plain(200)
        self._plain(405)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        if self.path == "/__stats":
            with LOCK:
                body = json.dumps(STATS).encode()
            return self._plain(200, body)
        status = re.match(r"^/__status/(\d{3})/", self.path)
        if status:
            count(self.path, 0)
            return self._plain(int(status.group(1)), b"refused by the test server")
        full = self._file()
        if full is None:
            count(self.path, 0)
            return self._plain(404, b"not found")
        size = os.path.getsize(full)
        start, end = 0, size - 1
        ranged = self.headers.get("Range")
        if ranged:
            m = re.match(r"bytes=(\d*)-(\d*)$", ranged.strip())
            if not m:
                return self._plain(416)
            if m.group(1):
                start = int(m.group(1))
                end = int(m.group(2)) if m.group(2) else size - 1
            else:
                start = max(0, size - int(m.group(2)))
            end = min(end, size - 1)
            if start > end:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        length = end - start + 1
        self.send_response(206 if ranged else 200)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(length))
        self.send_header("Last-Modified", self.date_time_string(int(os.path.getmtime(full))))
        self.send_header("ETag", f'"{int(os.path.getmtime(full))}-{size}"')
        if ranged:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        sent = 0
        slow = self.path.startswith("/__slow/") and length > (4 << 20)
        if self.command == "GET":
            with open(full, "rb") as f:
                f.seek(start)
                left = length
                while left:
                    chunk = f.read(min(left, 64 << 10 if slow else 1 << 20))
                    if slow:
                        time.sleep(0.03)
                    if not chunk:
                        break
                    try:
                        self.wfile.write(chunk)
                    except (BrokenPipeError, ConnectionResetError):
                        break
                    left -= len(chunk)
                    sent += len(chunk)
        count(self.path, sent)


server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()
