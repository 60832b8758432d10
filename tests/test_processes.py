import os
import signal
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
    with worker_pool(2) as pool:
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


# A pool whose workers sleep; the parent is interrupted as Ctrl-C would (SIGINT to the whole
# process group) and prints what it caught.
INTERRUPTED = """
import os, signal, sys, time
from keras_rawaudio.processes import worker_pool

def nap(_):
    time.sleep(30)
    return os.getpid()

if __name__ == "__main__":
    try:
        with worker_pool(2) as pool:
            futures = [pool.submit(nap, n) for n in range(4)]
            print(*[p.pid for p in pool._processes.values()], flush=True)
            futures[0].result()
    except KeyboardInterrupt:
        print("interrupted", flush=True)
"""


def test_ctrl_c_ends_the_workers_at_once_and_reaches_the_parent_alone(tmp_path):
    script = tmp_path / "interrupted.py"
    script.write_text(INTERRUPTED)
    process = subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        start_new_session=True,
    )
    pids = [int(p) for p in process.stdout.readline().split()]
    time.sleep(1.0)  # the workers are asleep in `nap`
    started = time.monotonic()
    os.killpg(process.pid, signal.SIGINT)
    out, err = process.communicate(timeout=20)
    assert out.strip() == "interrupted" and time.monotonic() - started < 10
    assert "Traceback" not in err and "Fatal Python error" not in err, err
    assert len(pids) == 2 and not any(process_alive(pid) for pid in pids)
