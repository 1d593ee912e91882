"""The last resort: an error nobody foresaw is one line on the terminal and a traceback in
a log file under the home (`RETAIN_HOME/logs/errors.log`), never a traceback on the screen."""

from __future__ import annotations

import datetime as dt
import os
import sys
import traceback
from pathlib import Path


def crash_log() -> Path:
    """The home's error log (pipelines.home), of RETAIN_HOME / .retain when the settings
    cannot load."""
    from pipelines.home import Home

    try:
        from pipelines.settings import load_settings

        return Home.of(load_settings()).crash_log
    except Exception:
        return Home(Path(os.environ.get("RETAIN_HOME", ".retain"))).crash_log


def log_crash(exc: BaseException, at: dt.datetime) -> Path | None:
    """Append the command line and the traceback to the error log; None if it cannot be written."""
    path = crash_log()
    entry = "".join(traceback.format_exception(exc))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as log:
            log.write(f"--- {at.isoformat(timespec='seconds')} {' '.join(sys.argv)}\n{entry}\n")
    except OSError:
        return None
    return path


def crash_line(exc: BaseException, log: Path | None) -> str:
    """'unexpected error (KeyError: 'x'); the traceback is in PATH: please report it'."""
    what = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
    where = f"the traceback is in {log}" if log else "the traceback could not be logged"
    return f"unexpected error ({what}); {where}: please report it"
