"""An offsite store that breaks off in the middle of a download (a rebuild's pulls): the transfer is started
again, and when it keeps breaking the pull fails naming the object, with nothing written locally.

A small HTTP proxy in front of the lab's S3 stand-in (moto) cuts the body of the chosen object after a
few bytes, for as many downloads as asked; every other request passes through unchanged."""
import http.client
import http.server
import os
import threading

import pytest

from labhost import ROOT, VENV_PYTHON, run_module, sh
from test_offsite import free_port

GATEWAY = "172.30.57.1"
MOTO = (GATEWAY, 9555)
ROOT_ON_HOST = "/var/backups/lifeboat-it-pull"


class _Cutter(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    breaks = 0          # bodies still to cut
    cut = 0             # of them, how many were cut
    pattern = ""

    def _forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        upstream = http.client.HTTPConnection(*MOTO, timeout=30)
        headers = dict((k, v) for k, v in self.headers.items() if k.lower() != "connection")
        upstream.request(self.command, self.path, body=body, headers=headers)
        response = upstream.getresponse()
        data = response.read()
        # The backup's data object only: its metadata (.json) is read by the listing first.
        cutting = (self.command == "GET" and _Cutter.pattern in self.path and _Cutter.breaks > 0
                   and not self.path.split("?")[0].endswith(".json") and response.status == 200)
        self.send_response(response.status)
        for key, value in response.getheaders():
            if key.lower() not in ("connection", "transfer-encoding", "content-length"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        if cutting:
            _Cutter.breaks -= 1
            _Cutter.cut += 1
            self.wfile.write(data[:16])
            self.wfile.flush()
            self.connection.shutdown(2)
        elif self.command != "HEAD":
            self.wfile.write(data)
        self.close_connection = True
        upstream.close()

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _forward

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def cutting_store(lab_backups):
    port = free_port(GATEWAY)
    server = http.server.ThreadingHTTPServer((GATEWAY, port), _Cutter)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    with open(os.path.join(ROOT, ".lab", "secrets", "s3_secret")) as handle:
        secret = handle.read().split()[0]
    yield {"provider": "s3", "bucket": "lifeboat-lab", "endpoint_url": "http://%s:%d" % (GATEWAY, port),
           "region": "us-east-1", "access_key": "lab-access-key-id", "secret_key": secret, "prefix": "app1",
           "action": "pull", "service": "appsqlite", "backup_root": ROOT_ON_HOST}
    server.shutdown()
    sh("rm -rf %s" % ROOT_ON_HOST)


def _pulled_files():
    return sh("find %s -type f 2>/dev/null | sort || true" % ROOT_ON_HOST).split()


def test_a_download_broken_off_twice_is_completed_on_the_third_attempt(cutting_store):
    sh("rm -rf %s" % ROOT_ON_HOST)
    _Cutter.pattern, _Cutter.breaks, _Cutter.cut = "/app1/appsqlite/", 2, 0
    result = run_module("backup_offsite", cutting_store, python=VENV_PYTHON)
    assert not result.get("failed"), result
    pulled = result
    assert _Cutter.cut == 2 and pulled["attempts"] == 3
    assert sh("sha256sum %s" % pulled["path"]).split()[0] == pulled["checksum"].split(":", 1)[1]


def test_a_download_that_keeps_breaking_off_fails_naming_the_object_and_writes_nothing(cutting_store):
    sh("rm -rf %s" % ROOT_ON_HOST)
    _Cutter.pattern, _Cutter.breaks, _Cutter.cut = "/app1/appsqlite/", 99, 0
    result = run_module("backup_offsite", cutting_store, python=VENV_PYTHON)
    assert result.get("failed") and _Cutter.cut == 3
    assert "download of offsite backup app1/appsqlite/" in result["msg"] and "broke off 3 times" in result["msg"]
    assert "nothing was written locally" in result["msg"]
    assert not [path for path in _pulled_files() if not path.endswith("/.lock")]
    assert cutting_store["secret_key"] not in result.output
