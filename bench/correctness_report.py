"""The search-correctness benchmark's figures from its replays: the summary per method (P, C,
regret), the learning-curve check, and the printed report (see ``bench/search_correctness.py``)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from ground_truth_tables import CONFIRM_SEEDS, EMULATED, SENSITIVITY_EPSILON, PairTables


def _p90(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.9 * len(ordered)) - 1)]


def _pct(hits: int, n: int) -> float | None:
    return 100.0 * hits / n if n else None


def summarise(replays: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The figures of a set of replays (one method; one pair or all)."""
    sizes = [s for r in replays for s in r["sizes"]]
    non_trivial = [s for s in sizes if s["non_trivial"]]
    non_trivial_005 = [s for s in sizes if s["non_trivial_005"]]
    regrets = [s["regret"] for s in sizes if s["regret"] is not None]
    nt_regrets = [s["regret"] for s in non_trivial if s["regret"] is not None]
    tests = [s["test_regret"] for s in sizes if s["test_regret"] is not None]
    costs = [100.0 * r["epochs"] / r["exhaustive_epochs"] for r in replays if r["exhaustive_epochs"]]
    return {
        "replays": len(replays),
        "size_replays": len(sizes),
        "non_trivial_size_replays": len(non_trivial),
        "non_trivial_sizes": len({(s["pair"], s["size"]) for s in non_trivial}),
        "sizes": len({(s["pair"], s["size"]) for s in sizes}),
        "P_non_trivial": _pct(sum(s["in_tie"] for s in non_trivial), len(non_trivial)),
        "P_all": _pct(sum(s["in_tie"] for s in sizes), len(sizes)),
        "P_non_trivial_eps005": _pct(sum(s["in_tie_005"] for s in non_trivial_005), len(non_trivial_005)),
        "P_all_eps005": _pct(sum(s["in_tie_005"] for s in sizes), len(sizes)),
        "non_trivial_sizes_eps005": len({(s["pair"], s["size"]) for s in non_trivial_005}),
        "C": statistics.fmean(costs) if costs else None,
        "regret_mean": statistics.fmean(regrets) if regrets else None,
        "regret_p90": _p90(regrets),
        "regret_mean_non_trivial": statistics.fmean(nt_regrets) if nt_regrets else None,
        "test_regret_mean": statistics.fmean(tests) if tests else None,
        "test_regret_p90": _p90(tests),
        "no_recommendation": sum(s["recommended"] is None for s in sizes),
        "missing_per_replay": statistics.fmean(r["missing"] for r in replays) if replays else None,
        "trials_per_replay": statistics.fmean(r["trials"] for r in replays) if replays else None,
        "stopped_per_replay": statistics.fmean(r["stopped"] for r in replays) if replays else None,
        "stopped_at_end": sum(r["stopped_at_end"] for r in replays),
        "transferred_per_replay": statistics.fmean(r["transferred"] for r in replays) if replays else None,
        "stalled": sum(bool(r["stalled"]) for r in replays),
        "duplicates_per_replay": statistics.fmean(r["duplicates"] for r in replays) if replays else None,
    }


# ---- the learning-curve check --------------------------------------------------------------


def learning_curve_check(pairs: Sequence[PairTables]) -> dict[str, Any]:
    """Per pair and held-out size: estimate_at from the other sizes' true boards vs the truth."""
    from search.curves import estimate_at

    cases: list[dict[str, Any]] = []
    for pair in pairs:
        if len(pair.sizes) < 2:
            continue
        for held in pair.sizes:
            assert held.truth is not None
            boards = [t.truth.board for t in pair.sizes if t is not held and t.truth is not None]
            estimates = estimate_at(boards, held.size)
            if not estimates:
                continue
            best = estimates[0]
            cases.append(
                {
                    "pair": pair.pair,
                    "held_out": held.size,
                    "from_sizes": [b.size for b in boards],
                    "predicted_best": best.estimate,
                    "true_best": held.truth.winner_mean,
                    "abs_error": abs(best.estimate - held.truth.winner_mean),
                    "recommended": best.strategy,
                    "method": best.method,
                    "in_tie": best.strategy in held.truth.tie_sets[0.0],
                    "tie_set": sorted(held.truth.tie_sets[0.0]),
                    "estimates": {e.strategy: e.estimate for e in estimates},
                }
            )
    return {
        "cases": cases,
        "mae": statistics.fmean(c["abs_error"] for c in cases) if cases else None,
        "in_tie_pct": _pct(sum(c["in_tie"] for c in cases), len(cases)),
    }


# ---- the report ----------------------------------------------------------------------------


def _f(value: float | None, spec: str = ".1f") -> str:
    return "n/a" if value is None else format(value, spec)


HEADER = (
    f"{'method':<22} {'P nontriv%':>10} {'P all%':>7} {'P@.005%':>8} {'C%':>6} {'regret':>7} {'p90':>7}"
    f" {'test reg':>8} {'nontriv':>7} {'trials':>6} {'stopped':>7} {'missing':>7} {'xfer':>5} {'dup':>5}"
)


def _line(method: str, s: Mapping[str, Any]) -> str:
    label = method + (" (emulated)" if method in EMULATED else "")
    return (
        f"{label:<22} {_f(s['P_non_trivial']):>10} {_f(s['P_all']):>7} {_f(s['P_non_trivial_eps005']):>8}"
        f" {_f(s['C']):>6} {_f(s['regret_mean'], '.4f'):>7} {_f(s['regret_p90'], '.4f'):>7}"
        f" {_f(s['test_regret_mean'], '.4f'):>8} {s['non_trivial_sizes']:>7} {_f(s['trials_per_replay']):>6}"
        f" {_f(s['stopped_per_replay']):>7} {_f(s['missing_per_replay']):>7}"
        f" {_f(s['transferred_per_replay']):>5} {_f(s['duplicates_per_replay']):>5}"
    )


def report(
    pairs: Sequence[PairTables],
    results: Sequence[Mapping[str, Any]],
    methods: Sequence[str],
    default: str,
    settings: Any,  # search_correctness.Settings
    replays: int,
    curve: Mapping[str, Any],
    seconds: float,
) -> tuple[str, dict[str, Any]]:
    lines: list[str] = []
    figures: dict[str, Any] = {"pairs": {}, "overall": {}, "settings": vars(settings) | {"replays": replays}}
    lines.append(
        f"search correctness: {replays} replays per method and pair; budget {settings.budget} per size"
        f" ({settings.budget // 4} per strategy cell), {settings.workers} workers, confirm top"
        f" {settings.top_k} per cell with seeds {CONFIRM_SEEDS} (old: top {settings.old_top_k} per size)"
    )
    for pair in pairs:
        used = ", ".join(f"{t.size:g}" for t in pair.sizes) or "none"
        lines.append("")
        lines.append(
            f"== {pair.pair}: sizes used {used}; skipped (incomplete) {', '.join(pair.skipped) or 'none'}"
        )
        figures["pairs"][pair.pair] = {
            "sizes": [t.size for t in pair.sizes],
            "skipped": pair.skipped,
            "truth": {
                f"{t.size:g}": {
                    "configurations": len(t.configs),
                    "winner": t.truth.board.winner.label if t.truth else None,
                    "winner_mean": t.truth.winner_mean if t.truth else None,
                    "tie_set": sorted(t.truth.tie_sets[0.0]) if t.truth else None,
                    "tie_set_eps005": sorted(t.truth.tie_sets[SENSITIVITY_EPSILON]) if t.truth else None,
                    "best_per_strategy": t.truth.best_per_strategy if t.truth else None,
                    "non_trivial": t.truth.non_trivial() if t.truth else None,
                    "exhaustive_epochs": t.exhaustive_epochs,
                }
                for t in pair.sizes
            },
            "methods": {},
        }
        for t in pair.sizes:
            assert t.truth is not None
            best = ", ".join(
                f"{s} {m:.4f}" for s, m in sorted(t.truth.best_per_strategy.items(), key=lambda i: -i[1])
            )
            lines.append(
                f"   size {t.size:g}: {len(t.configs)} configurations; winner {t.truth.board.winner.label}"
                f" {t.truth.winner_mean:.4f}; tie set {{{', '.join(sorted(t.truth.tie_sets[0.0]))}}}"
                f" (eps .005: {{{', '.join(sorted(t.truth.tie_sets[SENSITIVITY_EPSILON]))}}});"
                f" {'non-trivial' if t.truth.non_trivial() else 'trivial'}; best per strategy: {best}"
            )
        if not pair.sizes:
            continue
        lines.append("   " + HEADER)
        for method in methods:
            mine = [r for r in results if r["pair"] == pair.pair and r["method"] == method]
            summary = summarise(mine)
            figures["pairs"][pair.pair]["methods"][method] = summary
            lines.append("   " + _line(method, summary))
    lines.append("")
    lines.append("== overall (every pair's used sizes)")
    lines.append("   " + HEADER)
    for method in methods:
        summary = summarise([r for r in results if r["method"] == method])
        figures["overall"][method] = summary
        lines.append("   " + _line(method, summary))
    lines.append(
        "   P: recommended strategy in the true tie set (epsilon 0; P@.005: epsilon 0.005), over"
        " (replay, non-trivial size); C: epochs run / exhaustive epochs; regret: true winner mean -"
        " recommended configuration's true mean (dev weighted F1, 0..1), over (replay, size);"
        " per replay: trials run, stopped by the scheduler, missing (proposals the table lacks, told as"
        " errors), xfer (cross-size transfers), dup (search proposals repeating a configuration"
        " already proposed at that size and cell, same seed)"
    )
    odd = [
        f"{m}: {s['stopped_at_end']} trials stopped by the scheduler on their own last epoch"
        for m, s in figures["overall"].items()
        if s["stopped_at_end"]
    ] + [f"{m}: {s['stalled']} replays stalled" for m, s in figures["overall"].items() if s["stalled"]]
    if odd:
        lines.append("   note: " + "; ".join(odd))
    lines.append("")
    lines.append("== learning-curve check (estimate_at from the other sizes' true boards)")
    for case in curve["cases"]:
        lines.append(
            f"   {case['pair']} held-out {case['held_out']:g}"
            f" from {','.join(f'{s:g}' for s in case['from_sizes'])}:"
            f" predicted best {case['predicted_best']:.4f} ({case['method']})"
            f" vs true {case['true_best']:.4f};"
            f" recommends {case['recommended']} ({'in' if case['in_tie'] else 'NOT in'} tie set"
            f" {{{', '.join(case['tie_set'])}}})"
        )
    lines.append(
        f"   learning curve: mean absolute error of the predicted best score {_f(curve['mae'], '.4f')}"
        f" over {len(curve['cases'])} held-out sizes; recommended strategy in the true tie set in"
        f" {_f(curve['in_tie_pct'])}% of them"
    )
    figures["learning_curve"] = curve
    lines.append("")
    lines.append(f"runtime {seconds:.1f} s")
    chosen = figures["overall"].get(default)
    if chosen is None:
        chosen = summarise([])
    lines.append(
        f"regret ({default}): mean {_f(chosen['regret_mean'], '.4f')}, p90 {_f(chosen['regret_p90'], '.4f')}"
        f" (dev weighted F1, 0..1); test {_f(chosen['test_regret_mean'], '.4f')}"
    )
    lines.append(
        f"overall: recommended strategy in the true tie set in {_f(chosen['P_non_trivial'])}% of replays"
        f" at {_f(chosen['C'])}% of the exhaustive cost"
    )
    figures["default"] = default
    figures["runtime_seconds"] = seconds
    return "\n".join(lines), figures
