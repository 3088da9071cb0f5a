"""Read an upload in a child process under a time and memory budget.

Parsing is CPU work in Python: in the service's own process it would hold the interpreter lock
against every other request (`/healthz` included) for as long as a file takes. In a child
process it competes only for a core, and the child is stopped when its CPU time passes the
budget, so no file, however it was crafted, costs more than that. The budget is CPU time, so a
machine busy with other work slows a file down without refusing it; a wall-clock limit, far
longer, still ends a child that waits on nothing. The child is forked from a small server
process that already imported the parser, so starting one costs milliseconds, and it never
inherits the service's threads, connections or locks.
"""
from __future__ import annotations

import math
import multiprocessing
import resource
import traceback

from intake.batches.filetypes import BadFile, TooLarge, UnsupportedFile
from intake.batches.parsing import ParsedFile, parse

# CPU seconds a file may take to be read (whole seconds: the operating system counts in those);
# checking the rows and answering come on top.
DEFAULT_BUDGET = 1.5
# How many times the budget a child may take in wall-clock time, however busy the machine.
WALL_CLOCK_FACTOR = 10
# Address space a child may use: far above what the largest file allowed needs.
MEMORY_LIMIT = 1536 * 1024 * 1024
TOO_COSTLY = (
    "The file takes far longer to read than a batch of requests should; copy only the requests into "
    "the template and upload that."
)

_context = multiprocessing.get_context("forkserver")
_context.set_forkserver_preload(["intake.batches.parsing"])


def parse_within(data: bytes, filename: str = "", budget: float = DEFAULT_BUDGET) -> ParsedFile:
    """Parse `data` as `parse` does, in a child process; a file that needs more than `budget`
    CPU seconds or the memory limit is refused with BadFile."""
    receiving, sending = _context.Pipe(duplex=False)
    child = _context.Process(target=_parse_in_child, args=(data, filename, sending, budget), daemon=True)
    child.start()
    sending.close()
    try:
        if not receiving.poll(budget * WALL_CLOCK_FACTOR):
            raise BadFile(TOO_COSTLY)
        kind, value = receiving.recv()
    except EOFError:
        # the child died: out of memory, or killed
        raise BadFile(TOO_COSTLY) from None
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        receiving.close()
    if kind == "parsed":
        return value
    if kind == "crashed":
        raise RuntimeError(f"reading an upload failed unexpectedly: {value}")
    raise value


def _parse_in_child(data: bytes, filename: str, sending, budget: float) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    # past the soft limit the kernel sends SIGXCPU, which ends the process: the parent sees no answer
    cpu = max(1, math.ceil(budget + resource.getrusage(resource.RUSAGE_SELF).ru_utime))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    try:
        outcome = ("parsed", parse(data, filename))
    except (BadFile, TooLarge, UnsupportedFile) as refusal:
        outcome = ("refused", refusal)
    except MemoryError:
        outcome = ("refused", BadFile(TOO_COSTLY))
    except Exception:  # a fault of ours: the parent reports it as one, with where it happened
        outcome = ("crashed", traceback.format_exc(limit=-3))
    sending.send(outcome)
    sending.close()
