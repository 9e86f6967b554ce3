"""Where replications run: local processes or an existing Dask cluster.

An executor takes independent tasks (a pure function and its arguments) and
yields results as they finish. Because each task is a pure function of
(scenario, seed, replication), the numbers are the same whichever executor
runs them.
"""
from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, Callable, Iterable, Iterator


class SerialExecutor:
    """Runs tasks one after another in this process (workers=1)."""

    def run(self, fn: Callable[..., Any], tasks: Iterable[tuple]) -> Iterator[Any]:
        for args in tasks:
            yield fn(*args)

    def close(self) -> None:
        pass


class LocalExecutor:
    """A pool of local processes; keeps at most 2 × workers tasks in flight."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool = ProcessPoolExecutor(max_workers=workers)

    def run(self, fn: Callable[..., Any], tasks: Iterable[tuple]) -> Iterator[Any]:
        pending: set = set()
        queue = iter(tasks)
        try:
            for args in queue:
                pending.add(self._pool.submit(fn, *args))
                if len(pending) >= 2 * self.workers:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in done:
                        yield fut.result()
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    yield fut.result()
        finally:
            for fut in pending:
                fut.cancel()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor:
    """Tasks on a Dask distributed cluster, e.g. ``tcp://scheduler:8786``.

    The workers need simsvc installed (the same version, for identical numbers).
    """

    def __init__(self, address: str) -> None:
        from dask.distributed import Client

        self.client = Client(address)

    def run(self, fn: Callable[..., Any], tasks: Iterable[tuple]) -> Iterator[Any]:
        from dask.distributed import as_completed

        futures = [self.client.submit(fn, *args, pure=False) for args in tasks]
        try:
            for fut in as_completed(futures):
                yield fut.result()
        finally:
            self.client.cancel([f for f in futures if not f.done()])

    def close(self) -> None:
        self.client.close()


def make_executor(workers: int = 1, dask: str | None = None):
    if dask:
        return DaskExecutor(dask)
    if workers <= 1:
        return SerialExecutor()
    return LocalExecutor(workers)
