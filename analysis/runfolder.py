"""Run folders that appear whole or not at all."""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from geo.errors import InputError, RuralsimError


class RunFolderError(RuralsimError):
    """The run folder cannot be created (it exists and holds files, ...)."""


def default_run_dir(root: Path, name: str, resolved_yaml: str, now: datetime | None = None) -> Path:
    """``root/<name>/<UTC time>-<short hash of the resolved scenario>``, made unique if taken."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    digest = hashlib.sha256(resolved_yaml.encode()).hexdigest()[:8]
    base = root / name / f"{stamp}-{digest}"
    candidate, n = base, 1
    while candidate.exists():
        candidate, n = base.with_name(f"{base.name}-{n}"), n + 1
    return candidate


def check_free(final: Path) -> None:
    """Raise `InputError` (one line) unless `final` is absent or an empty folder in a place this
    process can write: checked before the work, not after it."""
    if final.exists() and not final.is_dir():
        raise InputError([f"{final}: is a file, not a folder; choose another --out"])
    if final.is_dir() and any(final.iterdir()):
        raise InputError([f"{final}: already exists and is not empty; choose another --out"])
    writable(final.parent)


def writable(folder: Path) -> None:
    """Create `folder` if needed and check a file can be written there, or raise `InputError`."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".ruralsim-probe-"):
            pass
    except OSError as err:
        raise InputError([f"{folder}: cannot write output there ({err.strerror or err})"]) from None


@contextmanager
def atomic_dir(final: Path) -> Iterator[Path]:
    """Yield a hidden temporary folder beside `final`; when the block ends normally it is renamed
    to `final` in one step, and when it raises (or is interrupted) it is removed. A crash that
    kills the process leaves only a ``.<name>.*.partial`` folder, never a run that looks whole."""
    check_free(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".partial", dir=final.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    os.chmod(tmp, 0o755)  # mkdtemp makes it private
    os.replace(tmp, final)


def write_file(path: Path, data: str | bytes) -> None:
    """Write `path` in one rename (text as UTF-8): readers see the old file or the whole new one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    if isinstance(data, bytes):
        tmp.write_bytes(data)
    else:
        tmp.write_text(data, encoding="utf-8")
    os.replace(tmp, path)


#: Significant digits of the figures written (models keep them unrounded).
DIGITS = 7


def rounded(tree: Any, digits: int | None = DIGITS) -> Any:
    """`tree` (dicts, lists, numbers) with floats to `digits` significant digits (None: kept
    exactly), numpy scalars as Python numbers, and NaN or infinite values as None (JSON has
    neither)."""
    if isinstance(tree, dict):
        return {k: rounded(v, digits) for k, v in tree.items()}
    if isinstance(tree, list | tuple):
        return [rounded(v, digits) for v in tree]
    if isinstance(tree, bool | np.bool_):
        return bool(tree)
    if isinstance(tree, int | np.integer):
        return int(tree)
    if isinstance(tree, float | np.floating):
        x = float(tree)
        if not math.isfinite(x):
            return None
        return x if digits is None else float(f"{x:.{digits}g}")
    return tree


def write_json(path: Path, data: dict[str, Any]) -> None:
    """`data` as indented JSON, figures rounded (`rounded`)."""
    path.write_text(json.dumps(rounded(data), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
