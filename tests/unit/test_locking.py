import multiprocessing
import os
import time

import pytest

from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError
from ansible_collections.lifeboat.dr.plugins.module_utils.locking import service_lock


def _hold(root, seconds, ready):
    with service_lock(root, "svc"):
        ready.set()
        time.sleep(seconds)


def test_second_run_is_refused_with_the_holder_named_then_waits(tmp_path):
    root = str(tmp_path)
    os.makedirs(os.path.join(root, "svc"))
    ready = multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold, args=(root, 1.5, ready))
    holder.start()
    try:
        assert ready.wait(10)
        with pytest.raises(LifeboatError, match="another Lifeboat run is working on service svc.*pid %d" % holder.pid):
            with service_lock(root, "svc"):
                pass
        started = time.monotonic()
        with service_lock(root, "svc", wait_seconds=30):
            assert time.monotonic() - started > 0.3  # it waited for the holder
    finally:
        holder.join()


def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    root = str(tmp_path)
    os.makedirs(os.path.join(root, "svc"))
    ready = multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold, args=(root, 60, ready))
    holder.start()
    assert ready.wait(10)
    holder.kill()
    holder.join()
    with service_lock(root, "svc"):
        pass
