"""app1's WAL archive and base backups offsite (postgresql_pitr_offsite, the lab's S3 stand-in), and a
recovery from that copy alone on another host, as a rebuild after losing the server does."""
import json
import shlex
import time

import pytest

from labhost import PITR_REPO as REPO, playbook, psql, sh, switch_wal_and_wait_offsite

OTHER = "lifeboat-lab-restoretest1"
OTHER_DATA = "/var/lib/postgresql/15/main"
CONFIG = "/etc/lifeboat-pitr/15-main.offsite.json"


def _rows(container=None):
    sql = "SELECT count(*) || ':' || md5(string_agg(id || '@' || at, ',' ORDER BY id)) FROM marks"
    command = "runuser -u postgres -- psql -XAtq -d offsitecheck -c %s" % shlex.quote(sql)
    return sh(command, container=container).strip() if container else sh(command).strip()


def _metrics():
    text = sh("lifeboat-pitr status --repository %s --name 15-main" % REPO)
    return dict(line.split("{", 1)[0].split()[0:1] + [float(line.rsplit(" ", 1)[1])] for line in text.splitlines()
                if line.startswith("lifeboat_pitr_offsite"))


@pytest.fixture(scope="module")
def marks(lab):
    psql("DROP DATABASE IF EXISTS offsitecheck")
    psql("CREATE DATABASE offsitecheck")
    psql("CREATE TABLE marks (id int PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())", "offsitecheck")
    psql("INSERT INTO marks (id) SELECT generate_series(1, 500)", "offsitecheck")
    segment, archived, offsite = switch_wal_and_wait_offsite()
    print("\n%s archived after %.1f s, offsite after %.1f s" % (segment, archived, offsite))
    return segment


def test_every_archived_file_goes_offsite_and_the_lag_is_measured(marks):
    assert sh("systemctl is-active lifeboat-pitr-ship-15-main.timer").strip() == "active"
    assert sh("stat -c '%U %a' " + CONFIG).split() == ["postgres", "600"]
    metrics = _metrics()
    assert metrics["lifeboat_pitr_offsite_pending_files"] == 0
    assert metrics["lifeboat_pitr_offsite_lag_seconds"] == 0
    assert metrics["lifeboat_pitr_offsite_last_success_timestamp_seconds"] > time.time() - 120
    # Every complete base backup is offsite (marked after its record was uploaded).
    bases = sh("ls %s/base" % REPO).split()
    assert bases and all(sh("test -e %s/base/%s/.offsite && echo yes" % (REPO, base)).strip() == "yes"
                         for base in bases)


def test_a_store_that_is_down_never_holds_up_archiving_and_the_queue_drains(marks):
    sh("cp -p {0} {0}.good && sed -i 's#\"endpoint_url\": \"[^\"]*\"#\"endpoint_url\": \"http://127.0.0.1:9\"#' {0}"
       .format(CONFIG))
    try:
        psql("INSERT INTO marks (id) SELECT generate_series(501, 600)", "offsitecheck")
        segment = psql("SELECT pg_walfile_name(pg_switch_wal())")
        sh("for i in $(seq 1 60); do test -e %s/wal/%s.zst && exit 0; sleep 0.5; done; exit 1" % (REPO, segment))
        # Two shipping runs against the unreachable store: the file waits, the failures are counted.
        sh("for i in $(seq 1 120); do test -e %s/.offsite_status.json && grep -q failed_count %s/.offsite_status.json "
           "&& exit 0; sleep 0.5; done; exit 1" % (REPO, REPO))
        assert sh("test -e %s/wal/%s.offsite || echo waiting" % (REPO, segment)).strip() == "waiting"
        metrics = _metrics()
        assert metrics["lifeboat_pitr_offsite_pending_files"] >= 1
        assert metrics["lifeboat_pitr_offsite_failures_total"] >= 1
        assert psql("SELECT last_archived_wal FROM pg_stat_archiver") >= segment  # PostgreSQL archived on
    finally:
        sh("mv {0}.good {0}".format(CONFIG))
    sh("for i in $(seq 1 90); do test -e %s/wal/%s.offsite && exit 0; sleep 0.5; done; exit 1" % (REPO, segment))
    assert _metrics()["lifeboat_pitr_offsite_pending_files"] == 0


@pytest.fixture
def other_host_data(marks):
    """restoretest1's own cluster, put back after the recovery replaced it."""
    yield
    sh("systemctl stop postgresql@15-main; kept=$(ls -d %s.pre-pitr-* | head -1); "
       "if [ -n \"$kept\" ]; then rm -rf %s && mv \"$kept\" %s; fi; rm -rf %s.pre-pitr-* %s.failed-pitr-*; "
       "systemctl start postgresql@15-main" % ((OTHER_DATA,) * 5), container=OTHER)


def test_a_new_host_recovers_every_shipped_write_from_the_offsite_copy_alone(marks, other_host_data, tmp_path):
    psql("INSERT INTO marks (id) SELECT generate_series(601, 700)", "offsitecheck")
    switch_wal_and_wait_offsite()
    expected = _rows()
    assert psql("SELECT max(id) FROM marks", "offsitecheck") == "700"
    result_file = tmp_path / "result.json"
    proc = playbook("../tests/integration/playbooks/pitr_offsite_recover.yml", "-e", "result_file=%s" % result_file)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    result = json.loads(result_file.read_text())
    assert result["source"].endswith("(prefix pitr/app1/15-main)") and "lifeboat-lab" in result["source"]
    assert result["kept_data_directory"].startswith(OTHER_DATA + ".pre-pitr-")
    assert _rows(OTHER) == expected
    assert sh("runuser -u postgres -- psql -XAtq -c 'SELECT pg_is_in_recovery()'", container=OTHER).strip() == "f"
    # Nothing of the recovery is left: no staging copy, no credentials file, no restore_command.
    assert sh("ls /var/lib/postgresql", container=OTHER).split() == ["15"]
    assert sh("ls -A /run/lifeboat-restore 2>/dev/null || true", container=OTHER).strip() == ""
    assert "restore_command" not in sh("cat %s/postgresql.auto.conf" % OTHER_DATA, container=OTHER)
    secret = json.loads(sh("cat " + CONFIG))["secret_key"]
    assert secret not in proc.stdout + proc.stderr + result_file.read_text()
