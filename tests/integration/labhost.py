"""Helpers for the integration tests: run Lifeboat's modules through Ansible on the lab
host app1, and read its real PostgreSQL and SQLite independently of Lifeboat's code."""
import json
import os
import shlex
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HOST = "app1"
CONTAINER = "lifeboat-lab-app1"
BIN = os.path.join(ROOT, ".venv", "bin")


def _env():
    env = dict(os.environ)
    env.update(ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
               ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_NOCOLOR="1", ANSIBLE_DEPRECATION_WARNINGS="0",
               PATH=BIN + os.pathsep + env.get("PATH", ""))
    return env


class Result(dict):
    """A module's result, plus everything Ansible printed (to look for leaked secrets)."""
    output = ""


def playbook(name, *extra, timeout=900):
    """ansible-playbook playbooks/<name> as users run it (default output, for the tests to read)."""
    return subprocess.run([os.path.join(BIN, "ansible-playbook"), "playbooks/%s" % name] + list(extra), cwd=ROOT,
                          env=dict(_env(), ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default"),
                          capture_output=True, text=True, timeout=timeout)


# The Lifeboat virtualenv that lifeboat.dr.host_tools makes: the offsite stores' SDKs are there.
VENV_PYTHON = "/opt/lifeboat/venv/bin/python"


def run_module(module, args, check=False, verbosity=0, python=None, diff=False, host=HOST):
    argv = [os.path.join(BIN, "ansible"), host, "-m", "lifeboat.dr." + module, "-a", json.dumps(args)]
    if python:
        argv += ["-e", "ansible_python_interpreter=" + python]
    if check:
        argv.append("--check")
    if diff:
        argv.append("--diff")
    if verbosity:
        argv.append("-" + "v" * verbosity)
    proc = subprocess.run(argv, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=600)
    start = proc.stdout.find("{")
    try:
        doc = json.loads(proc.stdout[start:])
        result = Result(doc["plays"][0]["tasks"][0]["hosts"][host])
    except (ValueError, KeyError, IndexError):
        raise AssertionError("unexpected ansible output:\n%s\n%s" % (proc.stdout, proc.stderr))
    result.output = proc.stdout + proc.stderr
    return result


def sh(command, check=True, container=CONTAINER):
    proc = subprocess.run(["docker", "exec", container, "bash", "-c", command], capture_output=True, text=True,
                          timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError("%s failed (%d): %s %s" % (command, proc.returncode, proc.stdout, proc.stderr))
    return proc.stdout


def psql(sql, database="postgres"):
    return sh("runuser -u postgres -- psql -XAtq -v ON_ERROR_STOP=1 -d %s -c %s" % (database, shlex.quote(sql))).strip()


def pg_content(database):
    """Independent content hash of every table: count and md5 of all rows in a fixed order."""
    tables = psql("SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables "
                  "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1", database).splitlines()
    return {table: psql("SELECT count(*) || ':' || md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) "
                        "FROM %s t" % table, database) for table in tables}


def sqlite_content(path):
    script = ("import hashlib, sqlite3, json, sys; c = sqlite3.connect('file:%s?mode=ro', uri=True); "
              "names = [r[0] for r in c.execute(\"SELECT name FROM sqlite_master WHERE type='table' ORDER BY 1\")]; "
              "print(json.dumps({n: '%%d:%%s' %% (c.execute('SELECT count(*) FROM \"%%s\"' %% n).fetchone()[0], "
              "hashlib.md5(repr(sorted(map(repr, c.execute('SELECT * FROM \"%%s\"' %% n)))).encode()).hexdigest()) "
              "for n in names}))" % path)
    return json.loads(sh("python3 -c %s" % shlex.quote(script)))


def databases():
    return set(psql("SELECT datname FROM pg_database").split())




def mariadb(sql, database=""):
    return sh("mariadb -N -B %s <<'SQL'\n%s\nSQL" % (database, sql)).strip()


def mariadb_content(database):
    """Independent picture of a MariaDB database: every row (in key order) and every object's definition,
    as mariadb-dump prints them, without the comments that carry dates."""
    return sh("mariadb-dump --skip-comments --skip-extended-insert --order-by-primary --routines --triggers "
              "--events --hex-blob %s | sha256sum" % database).split()[0]


def mariadb_databases():
    return set(mariadb("SHOW DATABASES").split())


# app1's PITR repository (lifeboat.dr.postgresql_pitr, the lab's cluster 15-main).
PITR_REPO = "/var/backups/lifeboat-pitr/15-main"


def switch_wal_and_wait_offsite(timeout=60):
    """Close app1's current WAL segment; return it and the seconds until it was archived and until it was offsite."""
    segment = psql("SELECT pg_walfile_name(pg_switch_wal())")
    started = time.monotonic()
    archived = None
    while time.monotonic() - started < timeout:
        present = sh("ls %s/wal/%s.zst %s/wal/%s.offsite 2>/dev/null || true" % (PITR_REPO, segment, PITR_REPO, segment))
        if archived is None and ".zst" in present:
            archived = time.monotonic() - started
        if ".offsite" in present:
            return segment, archived, time.monotonic() - started
        time.sleep(0.5)
    raise AssertionError("%s was not offsite within %d s" % (segment, timeout))
