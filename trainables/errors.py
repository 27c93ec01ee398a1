"""resweep's own error type for a user's mistake: a bad config, argument, name or file.

The command line prints such an error as one located line and exits 1; any other exception is a
bug and keeps its traceback. Subclasses name the kind: :class:`trainables.data.errors.DataError`,
:class:`search.config.ConfigError`, :class:`trainables.model_folder.ModelFolderError`, ...
(``cluster/`` imports nothing of resweep's: its own are ``cluster.resources.ResourcesError`` and
``cluster.storage.StorageError``.) A ``ValueError``, so callers that catch those keep working.
"""

from __future__ import annotations

__all__ = ["ResweepError"]


class ResweepError(ValueError):
    """A mistake of the user's, said in one line that names what is wrong and where."""
