"""asyncio-guest: run asyncio as a guest inside a GUI event loop.

The host loop (Tk, Qt, GTK, ...) keeps the main thread.  A C backend thread
waits on the asyncio loop's I/O backend without running anything, then wakes
the host, which runs the asyncio loop on its own thread, briefly.

Generic entry point: :func:`start_guest_run`.  Per-host helpers live in
submodules (``asyncio_guest.tk``).
"""

from ._run import GuestRun, current_run, start_guest_run

__all__ = ["GuestRun", "current_run", "start_guest_run"]
__version__ = "0.1.0"
