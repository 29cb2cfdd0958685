"""Child processes that die with the process that started them (Linux parent-death signal)."""

import ctypes
import os
import signal
import sys
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A ``preexec_fn`` for ``subprocess.Popen``: the child gets ``sig`` when its parent dies, even by SIGKILL.

    The kernel sends it when the *thread* that forked the child ends, so spawn from a thread that lives as long
    as the parent (the main thread). None where the signal does not exist (not Linux).
    """
    if not sys.platform.startswith("linux"):
        return None
    parent = os.getpid()
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up here: the child must not load anything

    def arm() -> None:  # runs in the child between fork and exec
        prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the signal was armed
            os._exit(1)

    return arm
