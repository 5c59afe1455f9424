"""Failure notifications from backup.yml, received by real SMTP and HTTP listeners on the controller."""
import email
import http.server
import json
import socketserver
import threading
import uuid

import pytest

from labhost import playbook, sh


class SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP to accept a message: HELO/EHLO, MAIL, RCPT, DATA, QUIT."""

    def handle(self):
        self.wfile.write(b"220 lifeboat-test ESMTP\r\n")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            verb = line[:4].upper()
            if verb == b"EHLO":
                self.wfile.write(b"250-lifeboat-test\r\n250 8BITMIME\r\n")
            elif verb == b"DATA":
                self.wfile.write(b"354 go ahead\r\n")
                lines = []
                for data in iter(self.rfile.readline, b""):
                    if data in (b".\r\n", b".\n"):
                        break
                    lines.append(data)
                self.server.messages.append(email.message_from_bytes(b"".join(lines)))
                self.wfile.write(b"250 queued\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


class HookHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.posts.append((self.path, json.loads(body)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def listeners():
    smtp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), SMTPHandler)
    smtp.messages = []
    hooks = http.server.ThreadingHTTPServer(("127.0.0.1", 0), HookHandler)
    hooks.posts = []
    for server in (smtp, hooks):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield smtp, hooks
    for server in (smtp, hooks):
        server.shutdown()
        server.server_close()


def test_a_failed_service_is_notified_everywhere_and_the_others_still_run(lab, listeners, tmp_path):
    smtp, hooks = listeners
    tag = uuid.uuid4().hex[:8]
    root = "/var/lib/lifeboat-it/notify-%s" % tag
    sh("mkdir -p %s && sqlite3 %s/good.db 'CREATE TABLE t (x); INSERT INTO t VALUES (1), (2);'" % (root, root))
    secret = "Not-the-password-%s" % tag
    hook = "http://127.0.0.1:%d" % hooks.server_address[1]
    extra = {
        "lifeboat_backup_root": root + "/backups",
        "lifeboat_services": [
            {"name": "bad-%s" % tag, "engine": "postgresql", "database": "no_such_db", "login_user": "lifeboat",
             "login_password": secret},
            {"name": "good-%s" % tag, "engine": "sqlite", "path": root + "/good.db"},
        ],
        "lifeboat_notify": {
            "email": {"host": "127.0.0.1", "port": smtp.server_address[1], "secure": "never", "to": ["ops@example.org"]},
            "webhooks": [{"url": hook + "/slack", "format": "slack"}, {"url": hook + "/teams", "format": "teams"},
                         {"url": hook + "/generic", "format": "generic"}],
        },
    }
    vars_file = tmp_path / "vars.json"
    vars_file.write_text(json.dumps(extra))
    run = playbook("backup.yml", "-e", "@%s" % vars_file, "-v")
    output = run.stdout + run.stderr
    try:
        assert run.returncode != 0, output
        assert "Backups failed: FAILED bad-%s" % tag in output
        assert secret not in output
        # the good service was backed up although the bad one failed first
        assert sh("ls %s/backups/good-%s/*/ | grep -c metadata.json" % (root, tag)).strip() == "1"

        assert len(smtp.messages) == 1
        mail = smtp.messages[0]
        assert mail["To"] == "ops@example.org" and "FAILED" in mail["Subject"]
        body = mail.get_payload(decode=True).decode() if not mail.is_multipart() else mail.get_payload(0).get_payload(decode=True).decode()
        assert "FAILED bad-%s" % tag in body and "password authentication failed" in body and "ok good-%s" % tag in body

        posts = dict(hooks.posts)
        assert set(posts) == {"/slack", "/teams", "/generic"}
        assert "FAILED bad-%s" % tag in posts["/slack"]["text"]
        assert posts["/teams"]["@type"] == "MessageCard" and "FAILED" in posts["/teams"]["title"]
        assert posts["/generic"]["status"] == "failed" and posts["/generic"]["host"] == "app1"
        assert any(line.startswith("FAILED bad-%s" % tag) for line in posts["/generic"]["lines"])
        assert secret not in json.dumps(hooks.posts) and secret not in body
    finally:
        sh("rm -rf %s" % root)
