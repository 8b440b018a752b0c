"""pygame as the host loop.

With pygame the *user* owns the main loop.  asyncio runs as a guest of it
through one custom event type (:data:`TICK_EVENT`): when the guest has work
(I/O ready, a timer due, a callback queued), the backend thread posts an
event of that type with ``pygame.event.post`` (``SDL_PushEvent``, which is
thread-safe), and the user's loop hands every event to :func:`process`,
which runs the guest for a short slice when the event is ours::

    import asyncio
    import pygame
    from asyncio_guest import pygame as guest_pygame

    async def main():
        reader, writer = await asyncio.open_connection("example.org", 80)
        ...

    pygame.init()
    screen = pygame.display.set_mode((640, 480))
    run = guest_pygame.start(main)
    clock = pygame.time.Clock()
    while not run.done:
        for event in pygame.event.get():      # or: [pygame.event.wait()]
            if guest_pygame.process(event):
                continue                      # it was ours
            if event.type == pygame.QUIT:
                run.cancel()                  # the teardown follows
        ...                                   # draw a frame
        clock.tick(60)

Or let :func:`run` own the loop: ``guest_pygame.run(main, on_event=...)``.

How ticks are carried: the event carries nothing.  The callable to run (the
guest's tick) is put in a module-level :class:`collections.deque` *before*
the event is posted, and :func:`process` runs the callables that were queued
when it was called.  Why not in the event's dict: pygame keeps the dict of a
posted user event in its own side table, per event, and drops it when the
event is dropped (``pygame.event.clear()``, a full queue); with the deque, a
callable whose event went missing is still run by the next event of our
type, a callable is never queued twice (the backend thread retries a failed
post with the same callable), and posting a bare event from the backend
thread involves no Python object in SDL's queue.

Fairness: when a busy guest used up its 1 ms slice, the next tick is posted
from the host thread as a new event, *behind* every event already in SDL's
queue, so the user's events keep flowing during a guest flood.  A loop that
polls once per frame (``pygame.event.get()`` + ``clock.tick(60)``) gives the
guest one slice per event of ours per frame, and sees guest wake-ups only at
its next frame: I/O completes, at frame pace.  A loop that blocks in
``pygame.event.wait()`` (or :func:`run`) serves the guest as soon as it posts.

Keep :data:`TICK_EVENT` flowing: ``pygame.event.clear()`` with no type, or
blocking the type after :func:`start`, stalls the guest until its next event.
"""

from __future__ import annotations

import asyncio
import collections
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any, Optional, TypeVar

import pygame

from . import host
from .host import GuestRun

__all__ = ["TICK_EVENT", "start", "run", "process", "async_handler",
           "PygameHost"]

T = TypeVar("T")

#: The pygame event type the guest's wake-ups arrive as: the last user
#: event type (``pygame.NUMEVENTS - 1``).  ``pygame.event.custom_type()``
#: hands out types from ``USEREVENT`` upward and starts again after
#: ``pygame.quit()``, so a type allocated by the program never equals it
#: (one allocated from the counter at import would be handed out again to
#: the program after a ``quit()``/``init()``).  :func:`process` consumes
#: them; pass it to ``pygame.event.get(exclude=...)`` if you need to.
TICK_EVENT: int = pygame.NUMEVENTS - 1

# Callables waiting for the user's loop to reach an event of ours.  Appended
# by the backend thread and by the host thread, popped by the host thread:
# deque.append/popleft are atomic.
_pending: "collections.deque[Callable[[], object]]" = collections.deque()


def _display_initialized() -> bool:
    return bool(pygame.get_init() and pygame.display.get_init())


def _require_pygame(what: str) -> None:
    if not _display_initialized():
        raise RuntimeError(
            f"{what}: pygame is not initialized; call pygame.init() (its "
            "display module carries the event queue) before starting a "
            "guest run"
        )


def _post(fn: Callable[[], object]) -> None:
    """``run_sync_soon_threadsafe`` (and ``_not_threadsafe``) for the guest:
    queue ``fn`` and post an event of ours.  Called from the backend thread
    and from the host thread."""
    # First the callable, then the event: process() must never see our
    # event before the callable it stands for.
    if fn not in _pending:
        _pending.append(fn)
    if not _display_initialized():
        # pygame.quit() was called: no queue to post to.  fn stays queued,
        # for run() finishing its teardown without pygame; a loop of the
        # user's that quit pygame is not pumping any more anyway (the run
        # is then reported as abandoned at exit).
        return
    try:
        posted = pygame.event.post(pygame.event.Event(TICK_EVENT))
    except pygame.error as exc:
        # The core reports this and retries; fn stays queued.
        raise RuntimeError(
            f"asyncio_guest.pygame: cannot post the guest's event: {exc} "
            "(was pygame.quit() called during a guest run?)"
        ) from exc
    if posted is False:  # blocked (pygame < 2.1.3 returns None)
        raise RuntimeError(
            f"asyncio_guest.pygame: pygame blocks the guest's event type "
            f"{TICK_EVENT}; do not block it (pygame.event.set_blocked) "
            "during a guest run"
        )


def process(event: "pygame.event.Event") -> bool:
    """Give one event from the user's loop to the guest.

    Call it for every event the loop takes from pygame (``event.get()``,
    ``event.wait()``, ``event.poll()``).  If the event is of type
    :data:`TICK_EVENT`, the guest runs (for a slice of about 1 ms at most)
    and True is returned: the event was consumed.  Any other event is left
    alone and False is returned.

    A ``KeyboardInterrupt`` or ``SystemExit`` raised inside the guest is
    re-raised from here after the main task was cancelled (see
    :func:`asyncio_guest.start_guest_run`); keep calling ``process`` to let
    the teardown finish.

    Raises:
        TypeError: ``event`` is not a pygame event.
    """
    if not isinstance(event, pygame.event.EventType):
        raise TypeError(
            f"process: expected a pygame event, got {type(event).__name__}"
        )
    if event.type != TICK_EVENT:
        return False
    _run_pending()
    return True


def _run_pending() -> None:
    # Only the callables queued before this call: a tick that yields posts
    # the next one behind the user's events, it does not run it here.
    ok = False
    try:
        for _ in range(len(_pending)):
            try:
                fn = _pending.popleft()
            except IndexError:
                break
            fn()
        ok = True
    finally:
        if not ok and _pending and _display_initialized():
            # Interrupted with callables left: make sure an event of ours
            # is still on its way to them.
            try:
                pygame.event.post(pygame.event.Event(TICK_EVENT))
            except pygame.error:
                pass


class PygameHost(host.Host):
    """pygame's event queue: the guest's wake-ups are :data:`TICK_EVENT`
    events that :func:`process` turns into ticks.  Thread mode only (SDL
    has no fd watching).  For :func:`run`, the loop of that function."""

    name = "asyncio_guest.pygame"

    def __init__(self, on_event: Optional[Callable[[Any], object]] = None,
                 fps: Optional[float] = None,
                 on_frame: Optional[Callable[[], object]] = None) -> None:
        super().__init__()
        self.on_event = on_event
        self.fps = fps
        self.on_frame = on_frame
        self._close: Callable[[], None] = host._nothing
        self._quit_seen = False

    def threadless_unavailable(self) -> Optional[str]:
        return "a host that can watch fds, which SDL's event queue cannot"

    def post(self, fn: Callable[[], object]) -> None:
        _post(fn)

    # -- run() --

    def connect_close(self, close: Callable[[], None]) -> Callable[[], None]:
        self._close = close
        return host._nothing

    def _handle(self, event: Any) -> None:
        if process(event):
            return
        if event.type == pygame.QUIT and not self._quit_seen:
            self._quit_seen = True
            self._close()
        if self.on_event is not None:
            self.on_event(event)

    def run_loop(self, until: Callable[[], bool]) -> None:
        if self.fps is None:
            while not until():
                self._handle(pygame.event.wait())
            return
        period = 1.0 / self.fps
        next_frame = time.monotonic()
        while not until():
            now = time.monotonic()
            if now >= next_frame:
                if self.on_frame is not None:
                    self.on_frame()
                next_frame += period
                if next_frame < now:  # late: do not try to catch up
                    next_frame = now + period
                continue
            # wait(0) would wait forever: at least 1 ms.
            ms = max(1, math.ceil((next_frame - now) * 1000))
            event = pygame.event.wait(ms)
            if event.type != pygame.NOEVENT:
                self._handle(event)

    def quit(self) -> None:
        pass  # run_loop checks until()

    def finish(self, until: Callable[[], bool]) -> None:
        """Pump our events until the run is done; keep the others for
        later."""
        kept: list[Any] = []
        while not until():
            if _display_initialized():
                event = pygame.event.wait(50)
                if event.type != pygame.NOEVENT and not process(event):
                    kept.append(event)
            else:
                # pygame.quit() was called (the classic "pygame.quit();
                # sys.exit()" on QUIT): _post only queues, run the queue.
                _run_pending()
                time.sleep(0.001)
        if _display_initialized():
            for event in kept:
                try:
                    pygame.event.post(event)
                except pygame.error:
                    break


def start(
    async_fn: Any,
    *args: Any,
    done_callback: Optional[Callable[["asyncio.Task[Any]"], object]] = None,
    loop_factory: Optional[Callable[[], asyncio.AbstractEventLoop]] = None,
    debug: Optional[bool] = None,
) -> GuestRun:
    """Start ``async_fn(*args)`` as a guest of the pygame loop of this thread.

    Call it on the thread that runs the pygame event loop, after
    ``pygame.init()``; it returns at once.  Then hand every event of the
    loop to :func:`process`.  The run ends (``GuestRun.done``) after the
    main task finished and the teardown ran; ``GuestRun.cancel()`` cancels
    it (typically on ``pygame.QUIT``).

    Makes sure :data:`TICK_EVENT` is not blocked (``set_allowed``).

    Args:
        async_fn: an ``async def`` function, or one coroutine (no args).
        done_callback: called on this thread with the finished main task,
            after the teardown (see :func:`asyncio_guest.start_guest_run`);
            by default a failed main task is logged.
        loop_factory: makes the guest loop (default
            ``asyncio.new_event_loop``; ``uvloop.new_event_loop`` works).
        debug: if not None, the loop's debug mode.

    Raises:
        RuntimeError: pygame (its display module) is not initialized, or
            this thread already hosts a guest run.
        TypeError: ``async_fn`` is not an async function or coroutine, or a
            callable argument is not callable.
    """
    return _start(PygameHost(), async_fn, args, done_callback, loop_factory,
                  debug)


def _start(pg_host: PygameHost, async_fn: Any, args: tuple[Any, ...],
           done_callback: Any, loop_factory: Any,
           debug: Optional[bool]) -> GuestRun:
    try:
        _require_pygame("asyncio_guest.pygame.start")
        if done_callback is not None and not callable(done_callback):
            raise TypeError(
                "start: done_callback must be callable, got "
                f"{type(done_callback).__name__}"
            )
        pygame.event.set_allowed(TICK_EVENT)
    except BaseException:
        host.close_if_coroutine(async_fn)
        raise
    return host.start(pg_host, async_fn, *args, done_callback=done_callback,
                      loop_factory=loop_factory, debug=debug, mode="thread")


def run(
    async_fn: Callable[..., Awaitable[T]] | Any = None,
    *args: Any,
    loop_factory: Optional[Callable[[], asyncio.AbstractEventLoop]] = None,
    on_event: Optional[Callable[["pygame.event.Event"], object]] = None,
    fps: Optional[float] = None,
    on_frame: Optional[Callable[[], object]] = None,
    debug: Optional[bool] = None,
) -> Optional[T]:
    """Run ``async_fn(*args)`` as a guest of a ready-made pygame loop.

    The loop gives every event to :func:`process`; the others go to
    ``on_event(event)`` (if given).  ``pygame.QUIT`` cancels the main task
    (the first one only, so an impatient second one does not cut the
    clean-up short) and is passed to ``on_event`` too.

    * ``fps=None``: the loop blocks in ``pygame.event.wait()``; it wakes only
      for events.
    * ``fps=N``: the loop also calls ``on_frame()`` N times a second (draw a
      frame there), waiting for events in between, so the guest is still
      served as soon as it posts.

    Returns once the teardown is complete (tasks cancelled and awaited, loop
    closed): the main coroutine's result, or None if a ``pygame.QUIT``
    cancelled it; its exception is re-raised.  If ``on_event`` or
    ``on_frame`` raises (or Ctrl-C), the main task is cancelled, the
    teardown completed, and the exception re-raised.  pygame is left
    initialized; events that arrive during that final teardown are put back
    in pygame's queue.

    Raises:
        RuntimeError: pygame is not initialized (see :func:`start`).
        TypeError: ``on_event`` or ``on_frame`` is not callable, or ``fps``
            is not a number.
        ValueError: ``fps`` is not positive, or ``on_frame`` without ``fps``.
    """
    try:
        for name, fn in (("on_event", on_event), ("on_frame", on_frame)):
            if fn is not None and not callable(fn):
                raise TypeError(
                    f"run: {name} must be callable, got {type(fn).__name__}")
        if fps is not None:
            if isinstance(fps, bool) or not isinstance(fps, (int, float)):
                raise TypeError(
                    f"run: fps must be a number, got {type(fps).__name__}")
            if not fps > 0 or math.isinf(fps):
                raise ValueError(f"run: fps must be positive, got {fps!r}")
        elif on_frame is not None:
            raise ValueError("run: on_frame needs fps")
        _require_pygame("asyncio_guest.pygame.start")
        pygame.event.set_allowed(TICK_EVENT)
    except BaseException:
        host.close_if_coroutine(async_fn)
        raise
    result: Optional[T] = host.run(
        PygameHost(on_event, fps, on_frame), async_fn, *args,
        loop_factory=loop_factory, debug=debug, mode="thread")
    return result


def async_handler(
    fn: Callable[..., Awaitable[Any]],
) -> Callable[..., "asyncio.Task[Any]"]:
    """Turn an ``async def`` into a plain callback for the pygame loop.

    Each call starts ``fn(*args)`` as a task on the guest loop hosted by
    this thread and returns the task at once.  An exception escaping the
    task goes to ``sys.excepthook``, once, with the coroutine's traceback; a
    cancelled task reports nothing.  Tasks still running at the end of the
    run are cancelled by its teardown.

    Example::

        on_key = guest_pygame.async_handler(handle_key)
        ...
        for event in pygame.event.get():
            if event.type == pygame.KEYDOWN:
                on_key(event)      # runs handle_key(event) on the guest loop

    Raises:
        TypeError: ``fn`` is not callable (at wrapping time), or does not
            return a coroutine (at call time).
        RuntimeError: (at call time) no guest run on this thread.
    """
    return host.async_handler(
        fn, "asyncio_guest.pygame.start() or .run()")
