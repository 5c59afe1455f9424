"""What the benchmarks wait for on a host running ``lifeboat.dr.postgresql_pitr``."""


def wait_offsite_script(repo, seconds):
    """A shell loop that ends once every archived WAL segment and every base backup under ``repo`` is offsite
    (the role's shipping timer leaves a ``.offsite`` marker beside each), failing after ``seconds``."""
    return ("for i in $(seq 1 %d); do n=$(find %s -name '*.zst' -path '*/wal/*' | while read f; do "
            "test -e ${f%%.zst}.offsite || echo x; done | wc -l); b=$(for d in %s/base/base_*; do test -e $d/.offsite "
            "|| echo x; done | wc -l); [ $n = 0 ] && [ $b = 0 ] && exit 0; sleep 1; done; exit 1" % (seconds, repo, repo))
