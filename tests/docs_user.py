"""The docs' user: runs one program from the docs and uses it as a person
would, so that every program the docs show is run, clicked and closed by
the test suite (docs/conftest.py).

    python tests/docs_user.py PROGRAM.py

Once the program's window is up, the user clicks each button once (Tk,
Qt, GTK 3/4), a short pause apart; answers a dialog that opens (Tk's
``messagebox``, a ``QMessageBox`` / ``QDialog``, a ``Gtk.Dialog``) with
its yes/OK button (pygame: presses the space bar); then closes the windows the way a window manager does
(Tk's ``WM_DELETE_WINDOW`` protocol, ``QApplication.closeAllWindows``,
``Gtk.Window.close``, pygame's ``QUIT`` event).  The program must then end
by itself.  It acts on the toolkit's own thread: from a Tk or Qt timer
(started on every ``Tk()`` / ``QApplication`` the program makes),
``GLib.idle_add``; pygame's event queue takes posts from any
thread.  A console program (no window) just runs to its end.
"""

from __future__ import annotations

import os
import runpy
import sys
import threading
import time
from typing import Any, Callable, Optional

FIRST = 0.8      # s after the window is up before the first action
GAP = 0.4        # s between two clicks
LINGER = 1.0     # s after the last action before closing
STEP = 0.1       # s between two looks


class User:
    """What to do next, whatever the toolkit: ``step`` runs on the
    toolkit's thread with a ``Toolkit`` adapter."""

    def __init__(self) -> None:
        self.up: Optional[float] = None
        self.last = 0.0
        self.clicked: list[Any] = []
        self.closed = False

    def step(self, kit: "Toolkit") -> None:
        now = time.monotonic()
        if self.closed:
            return
        if self.up is None:
            self.up = self.last = now
        if now - self.up < FIRST:
            return
        if kit.answer_dialog():
            self.last = now
            return
        if now - self.last < GAP:
            return
        for button in kit.buttons():
            if not any(button is done for done in self.clicked):
                self.clicked.append(button)
                kit.click(button)
                self.last = now
                return
        if now - self.last >= LINGER:
            self.closed = True
            kit.close()


class Toolkit:
    """One toolkit's hands: its buttons, a click, a dialog's answer, a
    close."""

    def buttons(self) -> list[Any]:
        return []

    def click(self, button: Any) -> None:
        raise NotImplementedError

    def answer_dialog(self) -> bool:
        return False

    def close(self) -> None:
        raise NotImplementedError


# -- Tk: a timer on every Tk() the program makes -----------------------------

class TkKit(Toolkit):
    def __init__(self, root: Any) -> None:
        self.root = root

    def buttons(self) -> list[Any]:
        import tkinter
        from tkinter import ttk
        found: list[Any] = []
        todo = list(self.root.winfo_children())
        while todo:
            w = todo.pop(0)
            todo.extend(w.winfo_children())
            if (isinstance(w, (tkinter.Button, ttk.Button))
                    and str(w.cget("state")) != "disabled"
                    and w.winfo_ismapped()):
                found.append(w)
        return found

    def click(self, button: Any) -> None:
        button.invoke()

    def answer_dialog(self) -> bool:
        tcl = self.root.tk
        box = ".__tk__messagebox"
        if not int(tcl.call("winfo", "exists", box)):
            return False
        for name in ("yes", "ok", "retry"):
            if int(tcl.call("winfo", "exists", f"{box}.{name}")):
                tcl.call(f"{box}.{name}", "invoke")
                return True
        return False

    def close(self) -> None:
        handler = str(self.root.protocol("WM_DELETE_WINDOW"))
        if handler:
            self.root.tk.call(handler)
        else:
            self.root.destroy()


def _watch_tk(user: User) -> None:
    import tkinter
    init = tkinter.Tk.__init__

    def patched(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        kit = TkKit(self)

        def look() -> None:
            try:
                if self.winfo_viewable():
                    user.step(kit)
                if not user.closed:
                    self.after(int(STEP * 1000), look)
            except tkinter.TclError:
                pass                      # the program destroyed it

        self.after(int(STEP * 1000), look)

    tkinter.Tk.__init__ = patched  # type: ignore[method-assign]


# -- Qt, GTK, pygame: a thread that looks, and acts on the toolkit's thread --

class QtKit(Toolkit):
    def __init__(self, binding: str) -> None:
        self.w = sys.modules[binding + ".QtWidgets"]
        self.app = self.w.QApplication.instance()

    def buttons(self) -> list[Any]:
        found: list[Any] = []
        for top in self.app.topLevelWidgets():
            if top.isVisible() and not top.isModal():
                found.extend(b for b in top.findChildren(self.w.QAbstractButton)
                             if b.isVisible() and b.isEnabled()
                             and b.window() is top)
        return found

    def click(self, button: Any) -> None:
        button.click()

    def answer_dialog(self) -> bool:
        box = self.app.activeModalWidget()
        if box is None:
            return False
        if isinstance(box, self.w.QMessageBox):
            roles = self.w.QMessageBox.ButtonRole
            for button in box.buttons():
                if box.buttonRole(button) in (roles.YesRole, roles.AcceptRole):
                    button.click()
                    return True
        box.accept()
        return True

    def close(self) -> None:
        self.app.closeAllWindows()


def _watch_qt(user: User) -> None:
    """Every QApplication the program makes gets a timer that runs
    ``user.step`` (on the GUI thread): the program's ``from <binding>.QtWidgets
    import QApplication`` finds a subclass that starts it."""
    import importlib.abc
    import importlib.machinery

    def patch(widgets: Any, binding: str) -> None:
        core = importlib.import_module(binding + ".QtCore")
        base = widgets.QApplication

        class QApplication(base):  # type: ignore[misc, valid-type]
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                kit = QtKit(binding)
                timer = core.QTimer()
                timer.timeout.connect(lambda: user.step(kit))
                timer.start(int(STEP * 1000))
                keep.append(timer)

        QApplication.__name__ = QApplication.__qualname__ = "QApplication"
        widgets.QApplication = QApplication

    class Finder(importlib.abc.MetaPathFinder):
        def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
            binding, _, leaf = name.partition(".")
            if leaf != "QtWidgets" or binding not in ("PySide6", "PyQt6", "PyQt5"):
                return None
            spec = importlib.machinery.PathFinder.find_spec(name, path)
            if spec is None or spec.loader is None:
                return spec
            loader = spec.loader
            execute = loader.exec_module

            def exec_module(module: Any) -> None:
                execute(module)
                patch(module, binding)

            loader.exec_module = exec_module  # type: ignore[method-assign]
            return spec

    sys.meta_path.insert(0, Finder())


class GtkKit(Toolkit):
    def __init__(self) -> None:
        from gi.repository import Gtk
        self.gtk = Gtk
        self.four = Gtk.get_major_version() >= 4

    def windows(self) -> list[Any]:
        if self.four:
            model = self.gtk.Window.get_toplevels()
            return [model.get_item(i) for i in range(model.get_n_items())]
        return list(self.gtk.Window.list_toplevels())

    def children(self, w: Any) -> list[Any]:
        if self.four:
            out, child = [], w.get_first_child()
            while child is not None:
                out.append(child)
                child = child.get_next_sibling()
            return out
        return list(w.get_children()) if hasattr(w, "get_children") else []

    def buttons(self) -> list[Any]:
        found: list[Any] = []
        for top in self.windows():
            if not top.get_visible() or isinstance(top, self.gtk.Dialog):
                continue
            todo = [top]
            while todo:
                w = todo.pop(0)
                todo.extend(self.children(w))
                if (isinstance(w, self.gtk.Button) and w.get_visible()
                        and w.get_sensitive()):
                    found.append(w)
        return found

    def click(self, button: Any) -> None:
        button.emit("clicked")

    def answer_dialog(self) -> bool:
        rt = self.gtk.ResponseType
        for w in self.windows():
            if isinstance(w, self.gtk.Dialog) and w.get_visible():
                for answer in (rt.YES, rt.OK, rt.ACCEPT, rt.APPLY):
                    if w.get_widget_for_response(answer) is not None:
                        w.response(answer)
                        return True
                w.response(rt.OK)
                return True
        return False

    def close(self) -> None:
        for w in self.windows():
            if w.get_visible():
                w.close()


def _watch_threads(user: User) -> None:
    """Until the program ends: find the toolkit it started, act through it."""
    poster: Optional[Callable[[], None]] = None
    while not user.closed:
        time.sleep(STEP)
        if poster is not None:
            poster()
            continue
        gtk = sys.modules.get("gi.repository.Gtk")
        if gtk is not None and _gtk_has_window(gtk):
            from gi.repository import GLib
            kit = GtkKit()
            poster = lambda: GLib.idle_add(_once, user.step, kit)  # noqa: E731
        pygame = sys.modules.get("pygame")
        if (poster is None and pygame is not None
                and getattr(pygame, "display", None) is not None
                and pygame.display.get_init()
                and pygame.display.get_surface() is not None):
            poster = _pygame_poster(pygame, user)


def _gtk_has_window(gtk: Any) -> bool:
    try:
        if gtk.get_major_version() >= 4:
            return bool(gtk.Window.get_toplevels().get_n_items())
        return any(w.get_visible() for w in gtk.Window.list_toplevels())
    except Exception:
        return False


def _once(fn: Callable[..., None], *args: Any) -> bool:
    fn(*args)
    return False


def _pygame_poster(pygame: Any, user: User) -> Callable[[], None]:
    """Press the space bar once, then close the window (SDL's event queue
    takes posts from any thread)."""
    up = time.monotonic()
    pressed = []

    def post() -> None:
        now = time.monotonic() - up
        if now >= FIRST and not pressed:
            pressed.append(now)
            pygame.event.post(pygame.event.Event(
                pygame.KEYDOWN, key=pygame.K_SPACE, mod=0, unicode=" ",
                scancode=44))
        elif now >= FIRST + LINGER:
            user.closed = True
            pygame.event.post(pygame.event.Event(pygame.QUIT))
    return post


keep: list[Any] = []


def main() -> None:
    program = sys.argv[1]
    user = User()
    _watch_tk(user)
    _watch_qt(user)
    threading.Thread(target=_watch_threads, args=(user,), daemon=True,
                     name="docs-user").start()
    sys.argv = [program]
    sys.path.insert(0, os.path.dirname(os.path.abspath(program)))  # as python does
    runpy.run_path(program, run_name="__main__")


if __name__ == "__main__":
    main()
