"""The process's heap between a run's stages (glibc): large blocks from their own mappings,
freed pages given back. Changes where memory comes from, never what is computed."""
from __future__ import annotations


def _libc():
    """The C library's handle (glibc), or None where there is none to tune."""
    global _LIBC
    if _LIBC is False:
        try:
            import ctypes

            _LIBC = ctypes.CDLL("libc.so.6")
        except OSError:
            _LIBC = None
    return _LIBC


_LIBC = False
_M_MMAP_THRESHOLD = -3  # mallopt parameter (malloc.h)


def steady_heap() -> None:
    """Serve every allocation of 1 MiB or more from its own mapping (glibc only).

    glibc raises its mmap threshold each time a large block is freed, so after the
    event loop's buffers go, the tables' arrays land in the process heap, which
    keeps their pages when they are freed: a 1M-contact replication then holds
    ~100 MB of dead heap through the later stages. A fixed threshold returns
    every large array's pages when it is freed, and lets the record columns grow
    by remapping instead of copying. The price is a page fault per fresh page of a
    large array (about +0.5 s of system time per million contacts); 1 MiB keeps the
    chunked reducers' temporaries in the heap, where they are reused (a 4 MiB
    threshold lets the 1M-run peak back up by ~20 MB). The setting is process-wide and
    stays (it changes only where large blocks come from, not what any code computes).
    """
    libc = _libc()
    if libc is not None:
        libc.mallopt(_M_MMAP_THRESHOLD, 1024 * 1024)


def release_memory() -> None:
    """Return freed heap pages to the operating system (glibc only; a no-op elsewhere).

    Large runs free hundreds of MB of temporaries between stages; glibc keeps them
    in the process heap, which inflates peak memory for the next stage.
    """
    libc = _libc()
    if libc is not None:
        try:
            libc.malloc_trim(0)
        except AttributeError:
            pass
