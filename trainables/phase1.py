"""Phase 1 of ``two-phase``: an encoder, and the features it yields, as a shared artifact.

Variants (the thesis's):

* ``none`` — the pre-trained encoder as it is;
* ``seqcls`` — fine-tuned for sequence classification (``bert-seqcls``), only on the data the
  regime makes available: ``separate`` trains one encoder on the in-domain subset and one on the
  OOD subset; ``joined`` trains one encoder on the in-domain subset plus 100% of the OOD set;
* ``mlm`` — fine-tuned as a masked LM on the unlabeled training text of the complete datasets
  (``separate``: each dataset's own; ``joined``: both).

Features are ``[CLS; mean of head tokens; mean of tail tokens]`` of the last layer, over the
marked sentence. The artifact (features, index, encoders, meta) is content-addressed by every
input that changes it — encoder, variant, marker style, length, the exact data the encoder saw,
the records featurised, seed and phase-1 hyper-parameters — and computed once
(:func:`~trainables.artifacts.compute_once`), so the many phase-2 trials that share it, at the
same time or after a resume, never recompute it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import torch
from safetensors.numpy import load_file, save_file

from .artifacts import BuildProgress, artifact_key, compute_once
from .data.labels import LabelSpace
from .data.markers import encode, prepare_tokenizer
from .data.records import table_to_records
from .data.regimes import holdout
from .encoders import from_pretrained, load_tokenizer
from .errors import ResweepError
from .optim import linear_schedule, make_optimizer
from .report_keys import EXAMPLES_PER_SECOND, STAGE_EPOCH, score_key

if TYPE_CHECKING:
    from .architectures._base import PrepareContext
    from .config import TrialSpec

__all__ = ["ENCODER_FOLDER", "Phase1Features", "artifact_signature", "extract_features", "phase1_features"]

log = logging.getLogger(__name__)

FEATURES_FILE = "features.safetensors"
INDEX_FILE = "index.json"
# With ``keep_encoder``: the encoder (safetensors) and tokenizer that featurised the in-domain
# records, markers included, so that new sentences get features from the same encoder.
ENCODER_FOLDER = "encoder"


def record_key(dataset: str, record_id: str) -> str:
    return f"{dataset}\t{record_id}"


def table_keys(table: pa.Table) -> list[str]:
    return [
        record_key(d, i) for d, i in zip(table["dataset"].to_pylist(), table["id"].to_pylist(), strict=True)
    ]


def fingerprint(table: pa.Table) -> str:
    """sha256 of a table's content (ids, tokens, spans, labels): the data part of a key."""
    digest = hashlib.sha256()
    for column in ("id", "tokens", "head_start", "head_end", "tail_start", "tail_end", "label"):
        digest.update(json.dumps(table[column].to_pylist()).encode())
    return digest.hexdigest()[:20]


class Phase1Features:
    """Feature vectors by record, loaded from an artifact folder."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.matrix = load_file(str(self.folder / FEATURES_FILE))["features"]  # (N, 3H) float32
        keys = json.loads((self.folder / INDEX_FILE).read_text())
        self.row = {key: i for i, key in enumerate(keys)}

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    def lookup(self, table: pa.Table) -> np.ndarray:
        """(N, 3H) features of ``table``'s records, in order."""
        try:
            rows = [self.row[key] for key in table_keys(table)]
        except KeyError as err:
            raise KeyError(
                f"phase-1 artifact {self.folder.name} has no features for record {err.args[0]!r}"
            ) from None
        return self.matrix[rows]


@torch.no_grad()
def extract_features(
    encoder: torch.nn.Module,
    tokenizer: Any,
    table: pa.Table,
    style: str,
    max_length: int,
    device: torch.device,
    batch_size: int = 64,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """[CLS; mean head; mean tail] of the last layer for every record: (N, 3H) float32.
    ``progress(n)`` is told after each batch how many more records are done."""
    from .architectures.bert_seqcls import pad_batch

    encoder.eval().to(device)
    pairs = [encode(record, tokenizer, style, max_length) for record in table_to_records(table)]
    order = np.argsort([len(p.input_ids) for p in pairs], kind="stable")
    hidden = int(getattr(encoder, "config").hidden_size)  # noqa: B009 - nn.Module has no typed config
    out = np.zeros((len(pairs), 3 * hidden), dtype=np.float32)
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        ids, mask = pad_batch([pairs[i].input_ids for i in rows], tokenizer.pad_token_id)
        states = encoder(
            input_ids=ids.to(device), attention_mask=mask.to(device)
        ).last_hidden_state.float()  # (B, L, H)
        for b, i in enumerate(rows):
            (hs, he), (ts, te) = pairs[i].head_span, pairs[i].tail_span
            vector = torch.cat([states[b, 0], states[b, hs:he].mean(0), states[b, ts:te].mean(0)])  # (3H,)
            out[i] = vector.cpu().numpy()
        if progress is not None:
            progress(len(rows))
    return out


def _base_encoder(model: torch.nn.Module) -> torch.nn.Module:
    """The transformer inside a model with a head (``BertForSequenceClassification.bert`` ...)."""
    return getattr(model, "base_model", model)


def _train_seqcls(
    context: PrepareContext,
    parts: Sequence[tuple[pa.Table, bool]],
    label_space: LabelSpace,
    dev: pa.Table,
    dev_ood: bool,
    progress: BuildProgress | None = None,
) -> tuple[torch.nn.Module, Any]:
    """Fine-tune ``bert-seqcls`` on ``parts`` (early stopping on ``dev``); return (model, tokenizer).
    ``progress`` counts the sentences trained on, and each epoch is logged."""
    from .architectures._base import concat_splits
    from .architectures.bert_seqcls import BertSeqCls
    from .loop import Stage, fit
    from .metrics import compute_metrics

    spec = context.spec
    sub_spec = replace(
        spec,
        model=replace(spec.model, architecture="bert-seqcls"),
        loop=spec.model.settings_of("two-phase").loop,
    )
    architecture = BertSeqCls(sub_spec, label_space)
    train = concat_splits([architecture.encode(table, ood=ood) for table, ood in parts])
    dev_split = architecture.encode(dev, ood=dev_ood)
    torch.manual_seed(spec.data.seed)
    architecture.build_model()
    labels = label_space.labels

    def evaluate(_: str, scores: np.ndarray, split: Any) -> dict[str, float]:
        gold = [labels[i] for i in split.labels]
        predicted = [labels[i] for i in scores.argmax(axis=1)]
        return compute_metrics(gold, predicted, negative_labels=label_space.negative)

    metric = score_key("dev", sub_spec.loop.selection_metric)

    def report(metrics: dict[str, Any], _: Any) -> None:
        log.info(
            "phase-1 fine-tuning (seqcls) epoch %d/%d: %s %.4f, %.0f sentences/s",
            metrics[STAGE_EPOCH],
            sub_spec.loop.max_epochs,
            metric,
            metrics.get(metric, float("nan")),
            metrics[EXAMPLES_PER_SECOND],
        )

    fit(
        architecture,
        [Stage("phase1", train)],
        dev_split,
        None,
        sub_spec.loop,
        evaluate=evaluate,
        report=report,
        seed=spec.data.seed,
        n_classes=len(label_space),
        world=_local_world(context.device),
        progress=None if progress is None else progress.add,
    )
    return architecture.model, architecture.tokenizer


def _train_mlm(
    context: PrepareContext, tables: Sequence[pa.Table], progress: BuildProgress | None = None
) -> tuple[torch.nn.Module, Any]:
    """Masked-LM fine-tuning on the plain text of ``tables`` (15% of tokens; 80/10/10 replacement);
    ``progress`` counts the sentences trained on."""
    from transformers import AutoModelForMaskedLM

    from .architectures.bert_seqcls import pad_batch

    spec = context.spec
    config = spec.model.settings_of("two-phase").loop
    tokenizer = load_tokenizer(spec.model.encoder)
    torch.manual_seed(spec.data.seed)
    model = from_pretrained(AutoModelForMaskedLM, spec.model.encoder).to(context.device)
    texts = [" ".join(tokens) for table in tables for tokens in table["tokens"].to_pylist()]
    encoded = tokenizer(texts, truncation=True, max_length=spec.model.max_length)["input_ids"]
    rng = np.random.default_rng([spec.data.seed, 7])
    steps = -(-len(encoded) // config.batch_size) * config.max_epochs
    optimizer = make_optimizer(model, config)
    scheduler = linear_schedule(optimizer, int(config.warmup_ratio * steps), steps)
    special = torch.tensor(sorted(set(tokenizer.all_special_ids)))
    model.train()
    for _ in range(config.max_epochs):
        order = rng.permutation(len(encoded))
        for start in range(0, len(order), config.batch_size):
            ids, mask = pad_batch(
                [encoded[i] for i in order[start : start + config.batch_size]], tokenizer.pad_token_id
            )
            labels = ids.clone()
            chosen = (torch.rand(ids.shape) < 0.15) & mask.bool() & ~torch.isin(ids, special)
            labels[~chosen] = -100
            roll = torch.rand(ids.shape)
            ids = ids.clone()
            ids[chosen & (roll < 0.8)] = tokenizer.mask_token_id
            random_tokens = torch.randint(len(tokenizer), ids.shape)
            replace_random = chosen & (roll >= 0.8) & (roll < 0.9)
            ids[replace_random] = random_tokens[replace_random]
            loss = model(
                input_ids=ids.to(context.device),
                attention_mask=mask.to(context.device),
                labels=labels.to(context.device),
            ).loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
            optimizer.step()
            scheduler.step()
            if progress is not None:
                progress.add(len(ids))
    return model, tokenizer


def _local_world(device: torch.device) -> Any:
    from .loop import World

    return World(device=device)


def artifact_signature(spec: TrialSpec) -> tuple[Any, ...]:
    """What tells two trials' phase-1 artifacts apart, from the configuration alone (what
    ``resweep sweep --dry-run`` counts): the configuration side of :func:`phase1_features`'s key.
    ``none`` (the pre-trained encoder) and ``mlm`` featurise whole datasets, so one artifact
    serves every size and strategy; ``seqcls`` learns from the trial's in-domain subset (size,
    seed) and, fine-tuned ``separate``ly, from its OOD share."""
    model, settings, data = spec.model, spec.model.settings_of("two-phase"), spec.data
    base = (model.encoder, settings.phase1_model, model.marker_style, model.max_length)
    if settings.phase1_model == "none":
        return (*base, data.ood is not None)
    hyper = tuple(sorted(settings.loop.__dict__.items()))
    if settings.phase1_model == "mlm":
        return (*base, settings.phase1_finetune, data.ood is not None, data.seed, hyper)
    ood_share = data.ood_pct if settings.phase1_finetune == "separate" else "all"
    return (*base, settings.phase1_finetune, data.in_domain_size, data.seed, ood_share, hyper)


def phase1_features(context: PrepareContext, label_space: LabelSpace) -> Phase1Features:
    """Load, or compute once, the phase-1 artifact this trial needs."""
    plan = _Phase1Plan.of(context, label_space)
    folder = compute_once(context.artifacts, plan.key, plan.build, meta=plan.meta)
    if context.keep_encoder and plan.variant == "none" and not (folder / ENCODER_FOLDER).is_dir():
        _keep_frozen_encoder(context.spec, folder)
    return Phase1Features(folder)


# The records one encoder featurises, the encoder and its tokenizer.
_Block = tuple[pa.Table, torch.nn.Module, Any]


@dataclass(frozen=True)
class _Phase1Plan:
    """One trial's phase-1 artifact: its variant, the records it featurises, and ``meta``, every
    input that changes it (what its ``key`` is made of); :meth:`build` computes it."""

    context: PrepareContext
    label_space: LabelSpace
    variant: str
    finetune: str
    ood_full: pa.Table | None  # the OOD dataset's whole train split
    in_domain_records: pa.Table  # the in-domain records to featurise
    meta: dict[str, Any]
    key: str

    @classmethod
    def of(cls, context: PrepareContext, label_space: LabelSpace) -> _Phase1Plan:
        spec, data = context.spec, context.data
        settings = spec.model.settings_of("two-phase")  # phase 1 is two-phase's (a wrapper's inner one's)
        variant, finetune = settings.phase1_model, settings.phase1_finetune
        uses_ood = context.ood is not None
        if variant == "none":
            finetune = "none"  # the pre-trained encoder is the same for every dataset
        elif finetune == "joined" and not uses_ood:
            raise ResweepError(
                "phase1_finetune 'joined' fine-tunes on both datasets: the trial needs an OOD dataset"
            )
        ood_full = context.ood["train"] if context.ood is not None else None
        in_domain_full = pa.concat_tables(context.in_domain.splits.values())

        # The records to featurise, and what the encoder(s) learn from.
        if variant == "seqcls":
            in_domain_records = pa.concat_tables([data.train, data.dev, data.test])
            seen: dict[str, Any] = {
                "in_domain_train": fingerprint(data.train),
                "in_domain_dev": fingerprint(data.dev),
            }
            if finetune == "joined":
                seen["ood"] = fingerprint(ood_full) if ood_full is not None else None
            elif uses_ood:
                seen["ood"] = fingerprint(data.ood_train)
        else:
            in_domain_records = in_domain_full
            seen = {"in_domain": fingerprint(in_domain_full)}
            if ood_full is not None:
                seen["ood"] = fingerprint(ood_full)
        meta = {
            "encoder": spec.model.encoder,
            "variant": variant,
            "finetune": finetune,
            "marker_style": spec.model.marker_style,
            "max_length": spec.model.max_length,
            "seen": seen,
            "featurised_in_domain": fingerprint(in_domain_records),
            "featurised_ood": fingerprint(ood_full) if ood_full is not None else None,
            "seed": spec.data.seed if variant != "none" else None,
            "hyper": None if variant == "none" else settings.loop.__dict__,
        }
        # A fine-tuned encoder exists only inside a build, so an artifact that must keep one has its
        # own key. The frozen encoder (`none`) is the pre-trained one with seeded marker embeddings:
        # it is made again beside a sweep's artifact, whose features `resweep train` then reuses.
        if context.keep_encoder and variant != "none":
            meta["keeps_encoder"] = True
        key = artifact_key("phase1", meta)
        return cls(context, label_space, variant, finetune, ood_full, in_domain_records, meta, key)

    @property
    def uses_ood(self) -> bool:
        return self.context.ood is not None

    def build(self, folder: Path) -> None:
        """Fine-tune the encoder(s) the variant needs, featurise the records, write the artifact."""
        context, spec, key = self.context, self.context.spec, self.key
        started = time.perf_counter()
        log.info(
            "phase-1 artifact %s: computing (%s, %s, encoder %s)",
            key,
            self.variant,
            self.finetune,
            spec.model.encoder,
        )
        tuning = self._tuning_progress()
        try:
            blocks = self._encoders(tuning)
        finally:
            if tuning is not None:
                tuning.close()
        keys, matrices = self._featurise(blocks)
        if context.keep_encoder:  # blocks[0] featurised the in-domain records
            _, kept, tokenizer = blocks[0]
            _save_encoder(kept, tokenizer, folder / ENCODER_FOLDER)
        save_file({"features": np.concatenate(matrices)}, str(folder / FEATURES_FILE))
        (folder / INDEX_FILE).write_text(json.dumps(keys))
        seconds = time.perf_counter() - started
        (folder / "timing.json").write_text(json.dumps({"seconds": seconds}))
        log.info("phase-1 artifact %s: %d records featurised in %.1f s", key, len(keys), seconds)

    def _tuning_progress(self) -> BuildProgress | None:
        """Fine-tuning is most of a build's time: its own sign of life, counted in sentences trained
        on, the epochs' upper bound as the total (early stopping may end it sooner). None: the
        variant fine-tunes nothing."""
        context, data = self.context, self.context.data
        epochs = context.spec.model.settings_of("two-phase").loop.max_epochs
        ood_rows = self.ood_full.num_rows if self.ood_full is not None else 0
        separate_ood = data.ood_train.num_rows if self.uses_ood else 0
        tuned = {
            "mlm": context.in_domain["train"].num_rows + ood_rows,
            "seqcls": data.train.num_rows + (ood_rows if self.finetune == "joined" else separate_ood),
        }.get(self.variant, 0)
        if not tuned:
            return None
        return BuildProgress(
            context.artifacts, f"{self.key}-tuning", f"phase-1 fine-tuning ({self.variant})", tuned * epochs
        )

    def _encoders(self, tuning: BuildProgress | None) -> list[_Block]:
        """The encoder (fine-tuned as the variant says) for the in-domain records, then the OOD's."""
        if self.variant == "none":
            return self._pretrained_blocks()
        if self.variant == "mlm":
            return self._mlm_blocks(tuning)
        return self._seqcls_blocks(tuning)

    def _pretrained_blocks(self) -> list[_Block]:
        from transformers import AutoModel

        encoder_name = self.context.spec.model.encoder
        tokenizer = load_tokenizer(encoder_name)
        encoder = from_pretrained(AutoModel, encoder_name)
        blocks: list[_Block] = [(self.in_domain_records, encoder, tokenizer)]
        if self.ood_full is not None:
            blocks.append((self.ood_full, encoder, tokenizer))
        return blocks

    def _mlm_blocks(self, tuning: BuildProgress | None) -> list[_Block]:
        context, ood_full = self.context, self.ood_full
        blocks: list[_Block]
        if self.finetune == "joined":
            model, tokenizer = _train_mlm(
                context, [context.in_domain["train"]] + ([ood_full] if ood_full else []), tuning
            )
            blocks = [(self.in_domain_records, _base_encoder(model), tokenizer)]
            if ood_full is not None:
                blocks.append((ood_full, _base_encoder(model), tokenizer))
        else:
            model, tokenizer = _train_mlm(context, [context.in_domain["train"]], tuning)
            blocks = [(self.in_domain_records, _base_encoder(model), tokenizer)]
            if ood_full is not None:
                ood_model, ood_tokenizer = _train_mlm(context, [ood_full], tuning)
                blocks.append((ood_full, _base_encoder(ood_model), ood_tokenizer))
        return blocks

    def _seqcls_blocks(self, tuning: BuildProgress | None) -> list[_Block]:
        context, label_space, ood_full = self.context, self.label_space, self.ood_full
        spec, data = context.spec, context.data
        if self.finetune == "joined":
            assert context.ood is not None and ood_full is not None
            joined_space = LabelSpace.build(
                context.in_domain.labels,
                context.ood.labels,
                negative=label_space.negative,
                mapping=spec.data.label_mapping,
            )
            parts = [(data.train, False), (ood_full, True)]
            model, tokenizer = _train_seqcls(context, parts, joined_space, data.dev, False, tuning)
            return [
                (self.in_domain_records, _base_encoder(model), tokenizer),
                (ood_full, _base_encoder(model), tokenizer),
            ]
        in_space = LabelSpace.build(label_space.in_domain, negative=label_space.negative)
        model, tokenizer = _train_seqcls(context, [(data.train, False)], in_space, data.dev, False, tuning)
        blocks: list[_Block] = [(self.in_domain_records, _base_encoder(model), tokenizer)]
        if self.uses_ood and data.ood_train.num_rows:
            ood_train, ood_dev = holdout(data.ood_train, 0.1, spec.data.seed)
            ood_space = LabelSpace.build(
                sorted(set(data.ood_train["label"].to_pylist())), negative=label_space.negative
            )
            ood_model, ood_tokenizer = _train_seqcls(
                context, [(ood_train, False)], ood_space, ood_dev, False, tuning
            )
            blocks.append((ood_full, _base_encoder(ood_model), ood_tokenizer))
        return blocks

    def _featurise(self, blocks: list[_Block]) -> tuple[list[str], list[np.ndarray]]:
        """Every block's records through its encoder: (record keys, feature matrices), in order."""
        spec = self.context.spec
        style, max_length, device = spec.model.marker_style, spec.model.max_length, self.context.device
        keys: list[str] = []
        matrices = []
        total = sum(table.num_rows for table, _, _ in blocks)
        progress = BuildProgress(
            self.context.artifacts, self.key, f"phase-1 features ({self.variant})", total
        )
        try:
            for table, encoder, tokenizer in blocks:
                if tokenizer is not None:
                    added = prepare_tokenizer(tokenizer, style)
                    resize = getattr(encoder, "resize_token_embeddings", None)
                    if added and resize is not None:
                        # New marker embeddings: random, but seeded, so that an artifact built
                        # again (lost, or with its encoder kept) holds the same features.
                        with torch.random.fork_rng():
                            torch.manual_seed(spec.data.seed if self.variant != "none" else 0)
                            resize(len(tokenizer), mean_resizing=False)
                matrices.append(
                    extract_features(
                        encoder, tokenizer, table, style, max_length, device, progress=progress.add
                    )
                )
                keys.extend(table_keys(table))
        finally:
            progress.close()
        return keys, matrices


def _save_encoder(encoder: torch.nn.Module, tokenizer: Any, folder: Path) -> None:
    save_pretrained: Any = getattr(encoder, "save_pretrained")  # noqa: B009 - a PreTrainedModel
    save_pretrained(folder)  # safetensors
    tokenizer.save_pretrained(folder)


def _keep_frozen_encoder(spec: TrialSpec, folder: Path) -> None:
    """Save the frozen phase-1 encoder beside artifact ``folder`` (built without it): the pre-trained
    encoder with the marker embeddings a build adds, under the same seed, so it yields the features
    the artifact holds. Written under a temporary name, then renamed: a concurrent writer's copy is
    the same, and whichever rename lands first stays."""
    import shutil
    import tempfile

    from transformers import AutoModel

    tokenizer = load_tokenizer(spec.model.encoder)
    encoder = from_pretrained(AutoModel, spec.model.encoder)
    if prepare_tokenizer(tokenizer, spec.model.marker_style):
        with torch.random.fork_rng():
            torch.manual_seed(0)  # as the build: `none` artifacts seed their markers with 0
            encoder.resize_token_embeddings(len(tokenizer), mean_resizing=False)
    staging = Path(tempfile.mkdtemp(prefix=f".{ENCODER_FOLDER}-", dir=folder))
    try:
        _save_encoder(encoder, tokenizer, staging)
        try:
            staging.rename(folder / ENCODER_FOLDER)
        except OSError:  # another process kept it first
            if not (folder / ENCODER_FOLDER).is_dir():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
