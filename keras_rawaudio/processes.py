"""Worker processes that end with their parent (no TensorFlow).

A `ProcessPoolExecutor` shuts its workers down when the parent exits normally, but a parent
killed with SIGKILL cannot: its spawned workers, re-parented to init, would wait for work
forever. `exit_with_parent` is the pool's initializer that ends them.

Example:

    pool = ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn"),
                               initializer=exit_with_parent, initargs=(os.getpid(),))
"""

import os
import threading
import time


def exit_with_parent(parent_pid: int, poll_seconds: float = 0.5):
    """Starts a daemon thread that ends this process once `parent_pid` is no longer its parent.

    Args:
        parent_pid: the pid of the process that started this one (`os.getpid()` there).
        poll_seconds: how often the parent is checked.
    """
    def watch():
        while os.getppid() == parent_pid:
            time.sleep(poll_seconds)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
