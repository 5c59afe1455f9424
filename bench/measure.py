#!/usr/bin/python3
"""Run a command on a benchmark host and append what it cost to a JSON-lines log.

Installed on the benchmark hosts as /usr/local/bin/lifeboat-bench-measure. Under
the name lifeboat-bench-python (a symlink) it runs /usr/bin/python3 with its
arguments: that is the Python interpreter Ansible uses there, so a module run is
measured the same way as a shell pipeline. Under lifeboat-bench-venv-python it runs
the Lifeboat virtualenv's Python (the offsite store's client library is there).
CPU time and peak RSS come from getrusage(RUSAGE_CHILDREN): the CPU of the whole
process tree, and the resident size of its largest process.
"""
import json
import os
import resource
import subprocess
import sys
import time

LOG = os.environ.get("LIFEBOAT_BENCH_LOG", "/var/tmp/lifeboat-bench/measure.jsonl")


def main(argv):
    start = time.monotonic()
    code = subprocess.call(argv)
    wall = time.monotonic() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    os.makedirs(os.path.dirname(LOG), exist_ok=True)
    with open(LOG, "a") as handle:
        handle.write(json.dumps({"argv0": os.path.basename(argv[0]), "rc": code, "wall_s": wall,
                                 "cpu_s": usage.ru_utime + usage.ru_stime,
                                 "peak_rss_mb": usage.ru_maxrss / 1024.0}) + "\n")
    return code


if __name__ == "__main__":
    args = sys.argv[1:]
    if os.path.basename(sys.argv[0]) == "lifeboat-bench-python":
        args = ["/usr/bin/python3"] + args
    elif os.path.basename(sys.argv[0]) == "lifeboat-bench-venv-python":
        args = ["/opt/lifeboat/venv/bin/python"] + args
    sys.exit(main(args))
