"""resweep's data layer: records, loaders, named datasets, regimes, label spaces, entity markers.

Everything up to the point where a trial receives its training, dev and test examples::

    from trainables.data import Regime, load_dataset, sample_regime

    wiki = load_dataset("synthetic")                  # a name, a folder or a file
    ood = load_dataset("synthetic_ood")
    data = sample_regime(wiki, Regime(0.1, ood_pct=50, local_in_domain_pretrain_pct=10, seed=0), ood)

:mod:`trainables.data.markers` (tokenizer-facing) is imported on its own so that data commands
never pay for transformers.
"""

from .datasets import DATASETS, DatasetSpec, RelationDataset, load_dataset, validate_dataset
from .errors import DataError, Problem
from .fetch import fetch_dataset
from .formats import FORMATS, detect_format
from .labels import LabelSpace
from .loading import parse_file
from .records import RECORD_SCHEMA, SPLITS, Record, records_to_table, table_to_records
from .regimes import Regime, RegimeData, sample_regime

__all__ = [
    "DATASETS",
    "FORMATS",
    "RECORD_SCHEMA",
    "SPLITS",
    "DataError",
    "DatasetSpec",
    "LabelSpace",
    "Problem",
    "Record",
    "Regime",
    "RegimeData",
    "RelationDataset",
    "detect_format",
    "fetch_dataset",
    "load_dataset",
    "parse_file",
    "records_to_table",
    "sample_regime",
    "table_to_records",
    "validate_dataset",
]
