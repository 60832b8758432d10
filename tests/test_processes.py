import os
import subprocess
import sys
import time

from conftest import ROOT, process_alive

# Starts a `worker_pool` of two spawned workers, prints their pids, then dies
# as a killed process does: no shutdown of the pool.
ORPHANING = """
import os, signal
from keras_rawaudio.processes import worker_pool

def worker_pid(_):
    return os.getpid()

if __name__ == "__main__":
    pool = worker_pool(2)
    print(*set(pool.map(worker_pid, range(2000), chunksize=1)), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_workers_end_when_their_parent_is_killed(tmp_path):
    script = tmp_path / "orphaning.py"
    script.write_text(ORPHANING)
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert result.returncode == -9
    workers = [int(pid) for pid in result.stdout.split()]
    assert workers and os.getpid() not in workers
    deadline = time.time() + 10
    while any(process_alive(pid) for pid in workers) and time.time() < deadline:
        time.sleep(0.1)
    assert not any(process_alive(pid) for pid in workers)
