"""Worker processes that end with their parent (no TensorFlow).

A `ProcessPoolExecutor` shuts its workers down when the parent exits normally, but a parent
killed with SIGKILL cannot: its spawned workers, re-parented to init, would wait for work
forever. `worker_pool` starts spawned workers that end with their parent (`exit_with_parent`),
ignore Ctrl-C (the parent alone handles it, once) and are ended at once when the block fails or
is interrupted.

Example:

    with worker_pool(2) as pool:
        sizes = list(pool.map(os.path.getsize, paths))
"""

import concurrent.futures
import contextlib
import multiprocessing
import os
import signal
import threading
import time

POLL_SECONDS = 0.5


def exit_with_parent(parent_pid: int):
    """Starts a daemon thread that ends this process once `parent_pid` is no longer its parent
    (checked every `POLL_SECONDS`).

    Args:
        parent_pid: the pid of the process that started this one (`os.getpid()` there).
    """

    def watch():
        while os.getppid() == parent_pid:
            time.sleep(POLL_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _start_worker(parent_pid: int, setup, setup_args: tuple):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    exit_with_parent(parent_pid)
    if setup is not None:
        setup(*setup_args)


@contextlib.contextmanager
def worker_pool(workers: int, setup=None, setup_args: tuple = ()):
    """A `ProcessPoolExecutor` of `workers` spawned processes that end with this one; if the
    block raises (Ctrl-C included), its queued work is cancelled and its processes terminated.

    Args:
        workers: the number of processes.
        setup: a module-level function each process runs first (`setup(*setup_args)`), or None.
        setup_args: its arguments (picklable).
    """
    # An interrupted pool's workers are terminated, as a kill would; multiprocessing's resource
    # tracker then removes the queues' semaphores they held, which it reports as a warning after
    # the command's last line. The tracker starts with the first pool and reads this variable.
    os.environ.setdefault("PYTHONWARNINGS", "ignore:resource_tracker:UserWarning")
    pool = concurrent.futures.ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_worker,
        initargs=(os.getpid(), setup, tuple(setup_args)),
    )
    try:
        yield pool
    except BaseException:  # Ctrl-C (the command then ends at once, `cli.interrupted_exit`)
        processes = list((pool._processes or {}).values())  # the executor has no public handle
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        raise
    pool.shutdown()
