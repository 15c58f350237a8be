"""Where the stderr of the processes we start goes (a notebook's kernel, a sweep's local job controllers)."""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from typing import IO, Iterator


@contextmanager
def stderr_to(sink: IO | None) -> Iterator[None]:
    """Within the block, file descriptor 2 is ``sink``'s: every process started in the block inherits it as its
    stderr (so its warnings, dying words and Ctrl-C tracebacks go to a log, not the terminal); restored after.
    ``sink`` None changes nothing."""
    if sink is None:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        os.dup2(sink.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
