"""Which Qt binding the Qt host uses, and the parts of it that it uses.

The choice, in order: the binding asked for (``binding=``, or that of
``app=``); ``$ASYNCIO_GUEST_QT``; a binding already imported (one with a
live application first: a program that imported PyQt6 means PyQt6); QtPy's
``$QT_API`` (``pyside6``, ``pyqt6``, ``pyqt5``; QtPy too prefers a binding
already imported over it); the first of PySide6, PyQt6, PyQt5 that
imports.  The same order as QtPy, so an application that set ``QT_API`` for
QtPy gets the same binding here.
"""

from __future__ import annotations

import importlib
import os
import sys
import warnings
from typing import Any, Optional

__all__ = ["BINDINGS", "ENV_VAR", "QT_API_VAR", "resolve_binding",
           "binding_of_app", "canonical", "Qt", "qt"]

#: The supported bindings, in the order they are tried.
BINDINGS = ("PySide6", "PyQt6", "PyQt5")
#: The environment variable that chooses a binding.
ENV_VAR = "ASYNCIO_GUEST_QT"
#: QtPy's variable (lower-case binding names), honoured after ours.
QT_API_VAR = "QT_API"


def canonical(name: str, what: str) -> str:
    """``name`` spelled as in :data:`BINDINGS` (any case)."""
    if not isinstance(name, str):
        raise TypeError(f"{what}: expected a binding name (one of "
                        f"{', '.join(BINDINGS)}), got {type(name).__name__}")
    for b in BINDINGS:
        if b.lower() == name.strip().lower():
            return b
    raise ValueError(f"{what}: unknown Qt binding {name!r}; expected one of "
                     f"{', '.join(BINDINGS)}")


def binding_of_app(app: Any) -> Optional[str]:
    """The binding of a Qt application object, or None."""
    top = type(app).__module__.split(".", 1)[0]
    return top if top in BINDINGS else None


def _from_qt_api() -> Optional[str]:
    value = os.environ.get(QT_API_VAR, "").strip()
    if not value:
        return None
    try:
        return canonical(value, f"${QT_API_VAR}")
    except ValueError:
        warnings.warn(
            f"asyncio_guest.qt: ${QT_API_VAR}={value!r} names no binding "
            f"this package supports ({', '.join(b.lower() for b in BINDINGS)})"
            "; ignored", RuntimeWarning, stacklevel=4)
        return None


def resolve_binding(binding: Optional[str] = None) -> str:
    """The name of the Qt binding the Qt host uses for ``binding``.

    ``binding`` if given; else ``$ASYNCIO_GUEST_QT``; else a binding already
    imported (preferring one whose ``QCoreApplication`` exists); else
    ``$QT_API`` (QtPy's convention); else the first of PySide6, PyQt6,
    PyQt5 that imports.

    Raises:
        ValueError: an unknown binding name.
        ImportError: no binding can be imported (or the one asked for).
    """
    if binding is not None:
        name = canonical(binding, "binding")
    elif os.environ.get(ENV_VAR):
        name = canonical(os.environ[ENV_VAR], f"${ENV_VAR}")
    else:
        imported = [b for b in BINDINGS if f"{b}.QtCore" in sys.modules]
        for b in imported:
            core = sys.modules[f"{b}.QtCore"]
            if core.QCoreApplication.instance() is not None:
                return b
        if imported:
            return imported[0]
        asked = _from_qt_api()
        if asked is not None:
            name = asked
        else:
            errors = []
            for b in BINDINGS:
                try:
                    importlib.import_module(f"{b}.QtCore")
                except ImportError as exc:
                    errors.append(f"{b}: {exc}")
                else:
                    return b
            raise ImportError(
                "asyncio_guest.qt: no Qt binding could be imported (pip "
                "install PySide6-Essentials, PyQt6 or PyQt5): "
                + "; ".join(errors))
    importlib.import_module(f"{name}.QtCore")  # ImportError if missing
    return name


class Qt:
    """The parts of one binding the Qt host uses."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.QtCore: Any = importlib.import_module(f"{name}.QtCore")
        core = self.QtCore
        flags = core.QEventLoop.ProcessEventsFlag
        self.wait_flags: Any = flags.AllEvents | flags.WaitForMoreEvents
        self.event_type: Any = core.QEvent.Type(core.QEvent.registerEventType())
        #: Filled by _qt_objects: the receiver and watcher classes.
        self.classes: Optional[tuple[type, type]] = None


_qts: dict[str, Qt] = {}


def qt(name: str) -> Qt:
    """The :class:`Qt` of binding ``name`` (made once)."""
    made = _qts.get(name)
    if made is None:
        made = _qts[name] = Qt(name)
        _warn_known_bugs(name)
    return made


def _warn_known_bugs(name: str) -> None:
    """Bindings known to break a program whatever the guest does."""
    if name != "PySide6" or sys.version_info >= (3, 12):
        return  # from 3.12 on None is immortal
    import PySide6

    if PySide6.__version__ == "6.12.0":
        warnings.warn(
            "PySide6 6.12.0 drops a reference to None on every call of a "
            "void method (QAbstractButton.click(), QWidget.setEnabled(), "
            "...); on Python < 3.12 the interpreter then aborts at exit "
            "(\"none_dealloc\").  Use PySide6 6.11.", RuntimeWarning,
            stacklevel=5)
