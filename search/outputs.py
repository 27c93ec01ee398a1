"""Where a command may write: never over what it reads, nor over what resweep did not create.

Every command that writes a path the user names passes it through :func:`check_output` before
any work: ``train --out`` (a model folder, replaced whole), ``predict --out`` and ``trial --out``
(a file), ``report --out``, ``trial --checkpoints`` and ``data fetch --root`` (folders written
into). Refused, ``--overwrite`` or not, is an output that

* is, or lies inside, one of the command's inputs (data files and folders, a config, the model
  folder it reads, the sweep and the storage folder it reads) — or holds one, where the output
  replaces a whole folder;
* is or lies inside a sweep folder (one holding ``sweep.yaml``), is a storage folder (one
  holding sweep folders), or is or lies inside a model folder (one holding
  ``resweep_model.json``) other than the one it replaces;
* is of the wrong kind: a folder where a file is written, a file where a folder is, or a path
  under a file.

A model folder is replaced whole (``train --overwrite``) only when resweep wrote it: it holds
``resweep_model.json``, and no sweep folder or other model folder inside it. Inputs and
outputs are compared after resolving symbolic links, so another spelling of a path is the same
path. Object-store outputs are compared with the command's inputs only (nothing is listed there).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any, Literal, TypeAlias

from cluster.storage import Location
from trainables.errors import ResweepError

__all__ = ["MODEL_MARKER", "SWEEP_MARKER", "OutputRefused", "Read", "check_output", "data_reads"]

# What marks a folder as a sweep's (search.plan.SweepPaths.config) and as a model folder
# (trainables.model_folder.MODEL_FILE; not imported from there: that module imports torch).
SWEEP_MARKER = "sweep.yaml"
MODEL_MARKER = "resweep_model.json"

# (what it is, for the message; where it is). None: the command has no such input this time.
Read: TypeAlias = tuple[str, str | Path | Location | None]

# Trial keys whose value may name a local file or folder a trial reads.
_PATH_KEYS = {
    "in_domain": "the in-domain data",
    "in_domain_root": "the in-domain data's root",
    "ood": "the out-of-domain data",
    "ood_root": "the out-of-domain data's root",
    "encoder": "the encoder",
}


class OutputRefused(ResweepError):
    """An output path that would write over something the command did not create."""


def data_reads(config: Mapping[str, Any]) -> list[Read]:
    """The local files and folders a flat trial config reads: its datasets and its encoder
    (a dataset or encoder *name* is not a path, unless a file or folder by that name exists)."""
    reads: list[Read] = []
    for key, what in _PATH_KEYS.items():
        value = config.get(key)
        if isinstance(value, str) and value and "://" not in value and Path(value).expanduser().exists():
            reads.append((what, value))
    return reads


def _key(where: str | Path | Location) -> tuple[bool, PurePosixPath, str]:
    """(remote, path to compare, path to show): a local path resolved, an object-store URI
    without its query (compared as a path: ``s3:/bucket/key``)."""
    location = Location.parse(where)
    if location.local is not None:
        return False, PurePosixPath(location.local), str(location.local)
    shown = str(location).split("?", 1)[0]
    return True, PurePosixPath(shown), shown


def _relation(out: PurePosixPath, other: PurePosixPath) -> str | None:
    if out == other:
        return "is"
    if other in out.parents:
        return "lies inside"
    if out in other.parents:
        return "holds"
    return None


def check_output(
    out: str | Path,
    option: str,
    *,
    reads: Iterable[Read] = (),
    kind: Literal["file", "folder", "model"] = "file",
    overwrite: bool = False,
    own: str | Path | Location | None = None,
) -> None:
    """Refuse (:class:`OutputRefused`, one line naming ``option`` and the path) an output path
    ``out`` the command must not write (see the module docstring).

    ``kind``: ``file`` (written whole, replacing a file there), ``folder`` (files written into
    it) or ``model`` (a model folder, replaced whole only with ``overwrite``). ``reads``: the
    command's inputs. ``own``: the command's own default place inside a sweep folder (a sweep's
    ``report/``), which it may write although it lies inside the sweep."""

    def refuse(problem: str) -> OutputRefused:
        return OutputRefused(f"{option} {out}: {problem}")

    remote, target, _ = _key(out)
    if own is not None and _key(own)[:2] == (remote, target):
        return
    known = [(what, _key(where)) for what, where in reads if where is not None and str(where) != ""]
    relations = ("is", "lies inside", "holds") if kind == "model" else ("is", "lies inside")
    for relation in relations:
        for what, (other_remote, other, shown) in known:
            if other_remote != remote or _relation(target, other) != relation:
                continue
            if relation == "lies inside" and not remote and Path(other).is_file():
                continue  # a path under a file: _check_local says so, as what it is
            where = "" if relation == "is" else f" {shown}"
            raise refuse(f"{relation} {what}{where}; choose another {option}")
    if not remote:
        _check_local(Path(target), option, kind, overwrite, refuse)


def _check_local(out: Path, option: str, kind: str, overwrite: bool, refuse: Any) -> None:
    """What the file system itself says: sweep, storage and model folders around ``out``, and
    what ``out`` is now."""
    for folder in out.parents:
        if (folder / SWEEP_MARKER).is_file():
            raise refuse(f"lies inside the sweep folder {folder}; choose another {option}")
        if (folder / MODEL_MARKER).is_file():
            raise refuse(f"lies inside the model folder {folder}; choose another {option}")
    if not out.exists():
        existing = next(p for p in out.parents if p.exists())
        if not existing.is_dir():
            raise refuse(f"lies under {existing}, which is a file; choose another {option}")
        return
    if not out.is_dir():
        if kind != "file":
            raise refuse(f"is a file, not a folder; choose another {option}")
        if not out.is_file():
            raise refuse(f"is not a regular file; choose another {option}")
        return
    if kind == "file":
        raise refuse(f"is a folder; {option} names the file to write")
    if (out / SWEEP_MARKER).is_file():
        raise refuse(f"is a sweep folder; choose another {option}")
    sweeps = sorted(p.name for p in out.iterdir() if (p / SWEEP_MARKER).is_file())
    if sweeps:
        raise refuse(f"is the storage folder of sweep(s) {', '.join(sweeps)}; choose another {option}")
    model = (out / MODEL_MARKER).is_file()
    if kind == "folder":
        if model:
            raise refuse(f"is a model folder; choose another {option}")
        return
    if not any(out.iterdir()):
        return
    if not model:
        raise refuse(
            f"exists and is not empty, and is not a model folder resweep wrote (no {MODEL_MARKER}); "
            f"choose another {option}"
        )
    if not overwrite:
        raise refuse(
            f"exists and is not empty (a model folder: --overwrite replaces it, or choose another {option})"
        )
    for marker in (SWEEP_MARKER, MODEL_MARKER):
        inside = next((p.parent for p in out.rglob(marker) if p.parent != out), None)
        if inside is not None:
            what = "a sweep folder" if marker == SWEEP_MARKER else "another model folder"
            raise refuse(f"holds {what} ({inside}); --overwrite replaces only a model folder resweep wrote")
