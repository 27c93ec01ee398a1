"""Where a sweep keeps its state: a local folder, a shared (NFS) path, or object storage.

A sweep's ``storage`` is a folder path or a URI that pyarrow understands: ``s3://bucket/prefix``
(AWS S3 or any S3-compatible server), ``gs://bucket/prefix`` (Google Cloud Storage). pyarrow's
URI options ride in the query string and are kept with the sweep, e.g. for a MinIO server::

    s3://sweeps/thesis?endpoint_override=minio.internal:9000&scheme=http

Credentials never go in the URI: they come from where the cloud SDKs look (``AWS_ACCESS_KEY_ID``
/ ``AWS_SECRET_ACCESS_KEY``, an instance role, ``GOOGLE_APPLICATION_CREDENTIALS``...), on the
driver and on every node.

:class:`Location` is one folder or file there, with the few operations resweep needs. Writes are
whole-or-nothing: a local file is written under a temporary name and renamed; an object store
shows an object only once its upload completed. Object stores have no rename and no locks; where
resweep needs those (phase-1 artifacts, a SQLite Optuna study) it works on a local copy and
uploads the finished result (:mod:`trainables.artifacts`, :mod:`search.driver.sweep`).

No call waits without bound: Google Cloud Storage retries for at most ``$RESWEEP_STORAGE_TIMEOUT``
seconds (default 30; a ``retry_limit_seconds`` in the URI wins), S3 gives up after the AWS SDK's
connect and request timeouts and three attempts. A store that cannot be reached, or refuses, is
:class:`StorageUnreachable`: one line naming the URI and the cause.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pyarrow.fs as pafs

__all__ = [
    "REMOTE_SCHEMES",
    "Location",
    "StorageError",
    "StorageUnreachable",
    "atomic_file",
    "atomic_folder",
    "cache_dir",
    "is_remote",
    "local_mirror",
    "shared_on_copy",
]

# The object stores pyarrow has filesystems for (``gcs`` is pyarrow's other name for ``gs``).
REMOTE_SCHEMES = ("s3", "gs", "gcs")
_SECRET_OPTIONS = ("access_key", "secret_key", "session_token")


class StorageError(ValueError):
    """A storage location that cannot be used as given (a user's URI; printed as one line)."""


class StorageUnreachable(OSError):
    """An object store that did not answer in time, or refused: one line naming the URI and the
    cause (an ``OSError``, as pyarrow's own errors are, so callers that catch those still do)."""


TIMEOUT_ENV = "RESWEEP_STORAGE_TIMEOUT"
DEFAULT_TIMEOUT_S = 30.0


def storage_timeout() -> float:
    """Seconds an object-store call may retry: ``$RESWEEP_STORAGE_TIMEOUT``, else 30."""
    try:
        seconds = float(os.environ.get(TIMEOUT_ENV, DEFAULT_TIMEOUT_S))
    except ValueError:
        return DEFAULT_TIMEOUT_S
    return seconds if 0 < seconds < float("inf") else DEFAULT_TIMEOUT_S


# What pyarrow's (long, nested) messages mean, by a phrase in them: the cause in a few words.
_CAUSES = (
    ("OAuth2 access token", "no credentials for it (GOOGLE_APPLICATION_CREDENTIALS, or a metadata server)"),
    ("Could not resolve host", "its host name does not resolve (no network, or a wrong endpoint_override?)"),
    ("Failed to connect", "nothing answers at its endpoint"),
    ("Could not connect", "nothing answers at its endpoint"),
    ("Timeout was reached", "no answer in time"),
    ("ACCESS_DENIED", "access denied (credentials, or the bucket's permissions)"),
    ("AccessDenied", "access denied (credentials, or the bucket's permissions)"),
    ("InvalidAccessKeyId", "the credentials are not valid for it"),
    ("NoSuchBucket", "no such bucket"),
)


def _cause(err: BaseException) -> str:
    text = " ".join(str(err).split())
    for phrase, cause in _CAUSES:
        if phrase in text:
            return cause
    return text[:200] + ("..." if len(text) > 200 else "")


def is_remote(where: str | Path | Location) -> bool:
    """True for an object-store URI (``s3://``, ``gs://``); a path or ``file://`` URI is local."""
    if isinstance(where, Location):
        return where.remote
    text = str(where)
    return "://" in text and text.split("://", 1)[0].lower() != "file"


class Location:
    """A folder or file on a local disk or in an object store (see the module docstring).

    ``str(location)`` is the full path or URI (query included), which :meth:`parse` reads back;
    ``location.path`` and ``location.filesystem`` are what pyarrow (and Ray's ``storage_path`` /
    ``storage_filesystem``) take.
    """

    def __init__(self, base: str, query: str = "", filesystem: pafs.FileSystem | None = None):
        self._base = base  # an absolute local path, or scheme://bucket/key without the query
        self._query = query
        self._filesystem = filesystem

    @classmethod
    def parse(cls, where: str | Path | Location) -> Location:
        """A location from a path (made absolute) or a URI; raises ValueError for an unknown scheme."""
        if isinstance(where, Location):
            return where
        text = str(where)
        scheme, colon, rest = text.partition(":")
        if colon and scheme.lower() in (*REMOTE_SCHEMES, "file") and not rest.startswith("//"):
            raise StorageError(  # `s3:/bucket` would be a local folder named `s3:`
                f"storage {text!r}: a URI has two slashes after its scheme: {scheme}://"
                + ("/" if scheme.lower() == "file" else "")
                + rest.lstrip("/")
            )
        if text.lower().startswith("file://"):
            text = text[len("file://") :]
            host, slash, path = text.partition("/")
            if host not in ("", "localhost"):  # file://host/x names a machine, not a folder here
                raise StorageError(
                    f"storage {str(where)!r}: a file:// URI names a host ({host}); write "
                    f"file:///{path or '...'} (three slashes) or the path itself"
                )
            text = slash + path
        if not is_remote(text):
            try:
                return cls(str(Path(text).expanduser().resolve()))
            except RuntimeError as err:  # ~nosuchuser/..., or a link loop on the way
                home = text.split("/", 1)[0]
                why = f"{home} names no user (no home folder to expand)" if text.startswith("~") else str(err)
                raise StorageError(f"{text}: {why}") from None
        scheme = text.split("://", 1)[0].lower()
        if scheme not in REMOTE_SCHEMES:
            raise StorageError(
                f"storage {text!r}: unknown scheme {scheme!r}; use a folder path or one of "
                + ", ".join(f"{s}://" for s in REMOTE_SCHEMES)
            )
        base, _, query = text.partition("?")
        bucket = base.split("://", 1)[1].split("/", 1)[0]
        if "@" in bucket:
            raise StorageError(
                f"storage {scheme}://…@{bucket.rpartition('@')[2]}: credentials do not belong in the URI "
                "(it is saved with the sweep and printed); set them in the environment "
                "(AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY) instead"
            )
        if not base.split("://", 1)[1].strip("/"):
            raise StorageError(f"storage {text!r}: the URI names no bucket")
        for option in _SECRET_OPTIONS:
            if option in dict(parse_qsl(query)):
                raise StorageError(
                    f"storage {base}: credentials do not belong in the URI "
                    "(it is saved with the sweep and printed); set them in the environment "
                    "(AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY) instead"
                )
        return cls(base.rstrip("/"), query)

    # -- naming ---------------------------------------------------------------------------------

    @property
    def remote(self) -> bool:
        return "://" in self._base

    def __truediv__(self, name: str) -> Location:
        return Location(f"{self._base.rstrip('/')}/{name}", self._query, self._filesystem)

    @property
    def name(self) -> str:
        return self._base.rstrip("/").rsplit("/", 1)[-1]

    @property
    def parent(self) -> Location:
        return Location(self._base.rstrip("/").rsplit("/", 1)[0], self._query, self._filesystem)

    def __str__(self) -> str:
        return f"{self._base}?{self._query}" if self._query else self._base

    def __repr__(self) -> str:
        return f"Location({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Location) and str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))

    def __getstate__(self) -> dict[str, Any]:
        # A filesystem object holds connections; the receiving process makes its own.
        return {"_base": self._base, "_query": self._query, "_filesystem": None}

    # -- the pyarrow view -----------------------------------------------------------------------

    @property
    def filesystem(self) -> pafs.FileSystem:
        if self._filesystem is None:
            if self.remote:
                with self._answers("cannot open"):
                    self._filesystem, _ = pafs.FileSystem.from_uri(self._bounded_uri())
            else:
                self._filesystem = pafs.LocalFileSystem()
        return self._filesystem

    def _bounded_uri(self) -> str:
        """The URI pyarrow opens: for Google Cloud Storage with a retry limit (its client retries
        for 15 minutes by default; with no network or credentials, that is a hang)."""
        scheme = self._base.split("://", 1)[0].lower()
        if scheme not in ("gs", "gcs") or "retry_limit_seconds" in dict(parse_qsl(self._query)):
            return str(self)
        limit = urlencode({"retry_limit_seconds": f"{storage_timeout():g}"})
        return f"{self}&{limit}" if self._query else f"{self}?{limit}"

    @contextmanager
    def _answers(self, doing: str) -> Iterator[None]:
        """An object store's failure as one line naming this URI (a local path's errors pass as
        they are; so does a missing object, which callers ask about)."""
        try:
            yield
        except (FileNotFoundError, StorageUnreachable):
            raise
        except OSError as err:
            if not self.remote:
                raise
            raise StorageUnreachable(f"{self}: {doing}: {_cause(err)}") from None
        except ValueError as err:  # pyarrow's ArrowInvalid: an option the URI gives wrong
            if not self.remote or isinstance(err, StorageError):
                raise
            raise StorageError(f"storage {self}: {_cause(err)}") from None

    @property
    def path(self) -> str:
        """The path inside :attr:`filesystem` (``bucket/key`` for an object store)."""
        return self._base.split("://", 1)[1] if self.remote else self._base

    @property
    def local(self) -> Path | None:
        """The local path, or None in an object store."""
        return None if self.remote else Path(self._base)

    # -- reading --------------------------------------------------------------------------------

    def _type(self) -> pafs.FileType:
        with self._answers("cannot look it up"):
            return self.filesystem.get_file_info(self.path).type

    def exists(self) -> bool:
        return self._type() != pafs.FileType.NotFound

    def is_file(self) -> bool:
        return self._type() == pafs.FileType.File

    def is_dir(self) -> bool:
        return self._type() == pafs.FileType.Directory

    def read_bytes(self) -> bytes:
        with self._answers("cannot read"), self.filesystem.open_input_stream(self.path) as stream:
            return bytes(stream.readall())

    def read_text(self) -> str:
        return self.read_bytes().decode()

    def children(self, suffix: str = "") -> list[Location]:
        """What the folder holds directly (names ending in ``suffix``), sorted; [] if it does not exist."""
        selector = pafs.FileSelector(self.path, allow_not_found=True, recursive=False)
        with self._answers("cannot list"):
            names = sorted(info.base_name for info in self.filesystem.get_file_info(selector))
        return [self / name for name in names if name.endswith(suffix)]

    def is_empty(self) -> bool:
        """True when nothing is there, or an empty folder."""
        return not self.children()

    # -- writing --------------------------------------------------------------------------------

    def write_bytes(self, data: bytes) -> None:
        """Write the whole file, or nothing: a reader sees the old content or the new one."""
        if self.local is not None:
            with atomic_file(self.local) as temporary:
                temporary.write_bytes(data)
            return
        # One upload of the whole content: the object store shows it only once it is complete.
        with self._answers("cannot write"), self.filesystem.open_output_stream(self.path) as out:
            out.write(data)

    def write_text(self, text: str) -> None:
        self.write_bytes(text.encode())

    def make_dirs(self) -> None:
        with self._answers("cannot create"):
            self.filesystem.create_dir(self.path, recursive=True)

    def remove(self) -> None:
        """Delete the file if it is there."""
        if self.is_file():
            self.filesystem.delete_file(self.path)

    def remove_tree(self) -> None:
        """Delete the folder and everything in it, if it is there."""
        if self.is_dir():
            self.filesystem.delete_dir(self.path)

    # -- copying a folder to and from a local disk -----------------------------------------------

    def upload(self, source: Path) -> None:
        """Copy the local folder ``source`` (recursively) into this folder."""
        self.make_dirs()
        pafs.copy_files(
            str(source),
            self.path,
            source_filesystem=pafs.LocalFileSystem(),
            destination_filesystem=self.filesystem,
        )

    def download(self, target: Path) -> None:
        """Copy this folder (recursively) into the local folder ``target``."""
        target.mkdir(parents=True, exist_ok=True)
        pafs.copy_files(
            self.path,
            str(target),
            source_filesystem=self.filesystem,
            destination_filesystem=pafs.LocalFileSystem(),
        )


def shared_on_copy(filesystem: pafs.FileSystem) -> pafs.FileSystem:
    """``filesystem`` (the same store, options and credentials) as an object whose copies are
    itself, for Ray Tune.

    Tune deep-copies its experiment's spec, storage filesystem included, twice for every trial it
    creates; a copy of an object store's filesystem is a new client with connections of its own,
    built on Tune's one thread (at 300 trials in a moto bucket, 12 s of it). A filesystem is
    shared safely (pyarrow's are thread-safe, their options fixed). Pickled, as Ray sends it to a
    trial's process, it is pyarrow's own class again. A local disk, or a filesystem pyarrow does
    not rebuild from keyword options, comes back as it is."""
    if isinstance(filesystem, pafs.LocalFileSystem):
        return filesystem
    _, args = filesystem.__reduce__()
    if len(args) != 1 or not isinstance(args[0], dict):
        return filesystem
    return _shared_class(type(filesystem))(**args[0])


_SHARED: dict[type, type] = {}  # a filesystem class -> its subclass whose copies are itself


def _shared_class(base: type) -> type:
    def _itself(self: Any, *memo: Any) -> Any:
        return self

    if base not in _SHARED:
        methods = {"__copy__": _itself, "__deepcopy__": _itself}
        _SHARED[base] = type(f"Shared{base.__name__}", (base,), methods)
    return _SHARED[base]


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def atomic_file(target: Path, suffix: str = ".tmp") -> Iterator[Path]:
    """A temporary file beside ``target`` to write; renamed onto ``target`` when the block ends
    without an error, removed when it raises: readers see the old file or the whole new one."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=suffix)
    os.close(handle)
    temporary = Path(name)
    # mkstemp makes the file private (0600); the file it becomes gets what open() would give it.
    os.chmod(temporary, 0o666 & ~_umask())
    try:
        yield temporary
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_folder(target: Path) -> Iterator[Path]:
    """A temporary folder beside ``target`` to fill; it replaces ``target`` (an existing one is
    removed first) when the block ends without an error, and is removed when it raises: the
    folder is complete or absent."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))
    os.chmod(temporary, 0o777 & ~_umask())  # mkdtemp's 0700, as mkdir would make it
    try:
        yield temporary
        if target.exists():
            shutil.rmtree(target) if target.is_dir() else target.unlink()
        os.replace(temporary, target)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise


def cache_dir() -> Path:
    """resweep's local cache folder: ``$RESWEEP_CACHE_DIR``, else ``$XDG_CACHE_HOME/resweep``, else
    ``~/.cache/resweep`` (parse caches, local mirrors of remote storage)."""
    if os.environ.get("RESWEEP_CACHE_DIR"):
        return Path(os.environ["RESWEEP_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "resweep"


def local_mirror(location: Location, purpose: str) -> Path:
    """A local folder that stands for ``location`` on this machine, the same on every call
    (e.g. the SQLite file of a sweep whose storage is an object store): under resweep's cache
    folder (``$RESWEEP_CACHE_DIR``, else ``~/.cache/resweep``), in ``storage/<purpose>/``, named
    after a hash of the location."""
    digest = hashlib.sha256(f"{purpose}\0{location}".encode()).hexdigest()[:16]
    return cache_dir() / "storage" / purpose / f"{location.name}-{digest}"
