"""The benchmarks' generated PostgreSQL database ``benchdb`` (``bench/dataset.sql``: customers, orders, events;
word-list text, JSON, 5 indexes), shared by ``bench/run.py`` and ``bench/rebuild.py``."""
import os
import subprocess

SQL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dataset.sql")


def ensure(psql, sh, container, size_gb, log, owner=None, scratch="/var/tmp"):
    """``benchdb`` of ``size_gb`` on the server ``psql(sql, database)`` reaches, generated unless one of that
    size is there. ``sh(script)`` runs in ``container``; ``owner`` owns the database and its tables."""
    target = int(size_gb * 1024 ** 3)
    exists = psql("SELECT count(*) FROM pg_database WHERE datname = 'benchdb'") == "1"
    if exists and psql("SELECT obj_description(to_regclass('public.events'))", "benchdb") == "target %d" % target:
        log("dataset of %.1f GB already there" % size_gb)
        return
    log("generating a %.1f GB dataset (customers, orders, events; word-list text, JSON, 5 indexes)" % size_gb)
    psql("DROP DATABASE IF EXISTS benchdb WITH (FORCE)")
    psql("CREATE DATABASE benchdb" + (" OWNER %s" % owner if owner else ""))
    subprocess.run(["docker", "cp", SQL, "%s:%s/dataset.sql" % (container, scratch)], check=True)
    # Created as the owner, as an application's data belongs to its role: db_restore restores as that role.
    role = "-c 'SET ROLE %s' " % owner if owner else ""
    sh("chmod 0644 {0}/dataset.sql && runuser -u postgres -- psql -XAtq -v ON_ERROR_STOP=1 -d benchdb {1}-f {0}/dataset.sql"
       " && rm {0}/dataset.sql".format(scratch, role))
    chunk, filled = 200000, 0
    while int(psql("SELECT pg_database_size('benchdb')")) < target:
        # seeded per chunk: the same size gives the same data on every machine
        psql("SELECT setseed(%f); SELECT bench_fill(%d)" % (filled / 1000.0, chunk), "benchdb")
        filled += 1
    psql("ANALYZE", "benchdb")  # not VACUUM: its parallel workers outgrow a container's 64 MB /dev/shm
    psql("COMMENT ON TABLE events IS 'target %d'" % target, "benchdb")
    psql("CHECKPOINT")
