"""The search-correctness benchmark's figures and printed report: every answer scored against the
in-sample and the held-out truth, the replays' mechanics, the planted effects, the one-seed
study's false winners and the learning-curve check (see ``bench/search_correctness.py``)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ground_truth_tables import CONFIRM_SEEDS, EMULATED, MARGIN, SEEDS, PairTables, Truth
from planted_effects import CONFIDENCE, MAX_SEEDS, START_SEEDS
from reference_answers import best_constant

from search.answer.decision import FUTILITY, interim_confidence

POWER_DELTA = "0.02"  # the planted effect the last line's power is read at
VERDICTS = ("winner", "equivalent", "undetermined")


def _p90(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.9 * len(ordered)) - 1)]


def _pct(values: Iterable[float]) -> float | None:
    values = list(values)
    return 100.0 * statistics.fmean(values) if values else None


def _mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.fmean(present) if present else None


# ---- the answers ---------------------------------------------------------------------------


@dataclass
class Baselines:
    """What every answer is measured against: the best constant answers on held-out dev and
    test, their P, and the held-out sizes where they are wrong (the non-trivial ones)."""

    constant_dev: str | None = None
    constant_test: str | None = None
    p_dev: float | None = None
    p_test: float | None = None
    non_trivial_dev: set[tuple[str, float]] = field(default_factory=set)
    non_trivial_test: set[tuple[str, float]] = field(default_factory=set)


def baselines(references: Sequence[Mapping[str, Any]]) -> Baselines:
    dev, wrong_dev = best_constant(references, "held_out_dev")
    test, wrong_test = best_constant(references, "held_out_test")
    return Baselines(
        constant_dev=dev,
        constant_test=test,
        p_dev=_held_out_p(references, f"always {dev}", "held_out_dev"),
        p_test=_held_out_p(references, f"always {test}", "held_out_test"),
        non_trivial_dev=set(wrong_dev),
        non_trivial_test=set(wrong_test),
    )


def _held_out_p(answers: Sequence[Mapping[str, Any]], name: str, key: str) -> float | None:
    return _pct(a[key] for a in answers if a["answer"] == name and a[key] is not None)


def _cost(answers: Sequence[Mapping[str, Any]]) -> float | None:
    """Epochs run / exhaustive epochs, per replay (or reference) over a pair's sizes, mean."""
    groups: dict[tuple[Any, ...], list[Mapping[str, Any]]] = {}
    for a in answers:
        groups.setdefault((a["pair"], a.get("seed"), a["answer"]), []).append(a)
    costs = [
        100.0 * sum(a["epochs"] for a in g) / sum(a["exhaustive_epochs"] for a in g)
        for g in groups.values()
        if all(a["epochs"] is not None for a in g)
    ]
    return statistics.fmean(costs) if costs else None


def summarise(answers: Sequence[Mapping[str, Any]], base: Baselines) -> dict[str, Any]:
    """One answer's figures over its (replay, size) answers."""
    held = [a for a in answers if a["held_out_dev"] is not None]
    claiming = [a for a in answers if a["claims"]]
    claimed = [a for a in held if a["claimed"] is not None]
    p_dev = _pct(a["held_out_dev"] for a in held)
    p_test = _pct(a["held_out_test"] for a in held)
    regrets = [a["regret"] for a in answers if a["regret"] is not None]
    return {
        "answers": len(answers),
        "held_out_answers": len(held),
        "P_in_sample": _pct(a["in_sample"] for a in answers),
        "P_held_out_dev": p_dev,
        "P_held_out_test": p_test,
        "P_non_trivial_dev": _pct(a["held_out_dev"] for a in held if _at(a, base.non_trivial_dev)),
        "P_non_trivial_test": _pct(a["held_out_test"] for a in held if _at(a, base.non_trivial_test)),
        "lift_dev": None if p_dev is None or base.p_dev is None else p_dev - base.p_dev,
        "lift_test": None if p_test is None or base.p_test is None else p_test - base.p_test,
        "claims": _pct(a["claimed"] is not None for a in claiming) if claiming else None,
        "wrong_claims": _pct(bool(a["wrong_claim"]) for a in claimed) if claiming else None,
        "wrong_equivalences": _pct(
            bool(a["wrong_equivalence"]) for a in held if a.get("wrong_equivalence") is not None
        ),
        # the leading cell where no winner was claimed, right on held-out dev
        "P_no_claim_dev": _pct(a["held_out_dev"] for a in held if a["claimed"] is None) if claiming else None,
        "verdicts": {v: sum(a["verdict"] == v for a in answers) for v in VERDICTS},
        "regret_mean": _mean(regrets),
        "regret_p90": _p90(regrets),
        "test_regret_mean": _mean(a["test_regret"] for a in held),
        "C": _cost(answers),
        "no_recommendation": sum(a["cell"] is None for a in answers),
    }


def _at(answer: Mapping[str, Any], sizes: set[tuple[str, float]]) -> bool:
    return (answer["pair"], answer["size"]) in sizes


def answer_groups(
    results: Sequence[Mapping[str, Any]],
    references: Sequence[Mapping[str, Any]],
    methods: Sequence[str],
    default: str,
) -> dict[str, list[Mapping[str, Any]]]:
    """Every answer's (replay, size) answers, in the report's order."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for method in methods:
        groups[method] = [s["answer"] for r in results if r["method"] == method for s in r["sizes"]]
    groups["today's rule"] = [s["todays_rule"] for r in results if r["method"] == default for s in r["sizes"]]
    for a in references:
        groups.setdefault(a["answer"], []).append(a)
    groups["one-seed study, seeds 0-2"] = [
        a for a in references if a["answer"].startswith("one-seed study, seed ")
    ]
    return groups


def _label(name: str, default: str) -> str:
    if name == default:
        return f"{name} + decision (new default)"
    if name == "today's rule":
        return f"{default}, today's rule"
    return name + (" (emulated)" if name in EMULATED else "")


def mechanics(replays: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """What the replays of one method did, per replay."""

    def per_replay(key: str) -> float | None:
        return statistics.fmean(r[key] for r in replays) if replays else None

    return {
        "replays": len(replays),
        "trials_per_replay": per_replay("trials"),
        "stopped_per_replay": per_replay("stopped"),
        "missing_per_replay": per_replay("missing"),
        "transferred_per_replay": per_replay("transferred"),
        "duplicates_per_replay": per_replay("duplicates"),
        "stopped_at_end": sum(r["stopped_at_end"] for r in replays),
        "stalled": sum(bool(r["stalled"]) for r in replays),
        "recommendation_seeds": _mean(s["n_seeds"] for r in replays for s in r["sizes"]),
    }


# ---- the learning-curve check --------------------------------------------------------------


def learning_curve_check(pairs: Sequence[PairTables]) -> dict[str, Any]:
    """Per pair and held-out size: estimate_at from the other sizes' in-sample boards vs the
    size's in-sample truth."""
    from search.answer.curves import estimate_at

    cases: list[dict[str, Any]] = []
    for pair in pairs:
        if len(pair.sizes) < 2:
            continue
        for held in pair.sizes:
            boards = [t.board for t in pair.sizes if t is not held]
            estimates = estimate_at(boards, held.size)
            if not estimates:
                continue
            best = estimates[0]
            truth = held.truth
            true_best = truth.dev_mean[truth.best[truth.top_dev]]
            cases.append(
                {
                    "pair": pair.pair,
                    "held_out": held.size,
                    "from_sizes": [b.size for b in boards],
                    "predicted_best": best.estimate,
                    "true_best": true_best,
                    "abs_error": abs(best.estimate - true_best),
                    "recommended": best.strategy,
                    "method": best.method,
                    "right": best.strategy in truth.right_dev,
                    "right_set": sorted(truth.right_dev),
                    "estimates": {e.strategy: e.estimate for e in estimates},
                }
            )
    return {
        "cases": cases,
        "mae": statistics.fmean(c["abs_error"] for c in cases) if cases else None,
        "right_pct": _pct(c["right"] for c in cases),
        "annotation_plan": annotation_plan_check(pairs),
    }


def annotation_plan_check(pairs: Sequence[PairTables]) -> dict[str, Any]:
    """The annotation plan against held-out truth: per pair with four sizes or more, leave the
    largest out, plan (:func:`search.answer.annotation.plan_from_boards`, from the other sizes'
    in-sample boards) for the score each strategy's best reached there (in-sample, dev), and
    check whether the left-out size lies inside the plan's band, and how far the planned size is
    from it (ratio planned / true; inf where the plan says "not within 10x the pool")."""
    from search.answer.annotation import plan_from_boards

    cases: list[dict[str, Any]] = []
    for pair in pairs:
        if len(pair.sizes) < 4:
            continue
        held = pair.sizes[-1]
        boards = [t.board for t in pair.sizes[:-1]]
        truth = held.truth
        for cell in sorted(truth.best):
            target = truth.dev_mean[truth.best[cell]]
            plan = plan_from_boards(boards, target)
            planned = plan.cell_plan(cell)
            if planned is None:
                continue
            low = math.inf if planned.low is None else planned.low
            high = math.inf if planned.high is None else planned.high
            size = math.inf if planned.size is None else planned.size
            cases.append(
                {
                    "pair": pair.pair,
                    "cell": cell,
                    "from_sizes": [b.size for b in boards],
                    "true_size": held.size,
                    "target": target,
                    "planned": planned.size,
                    "low": planned.low,
                    "high": planned.high,
                    "inside": low <= held.size <= high,
                    "open_high": planned.high is None,
                    "ratio": size / held.size,
                    "method": planned.curve.method,
                }
            )
    ratios = sorted(c["ratio"] for c in cases)
    median = statistics.median(ratios) if ratios else None
    return {
        "cases": cases,
        "inside_pct": _pct(c["inside"] for c in cases),
        "median_ratio": median,
        "within_1_5x_pct": _pct(1 / 1.5 <= c["ratio"] <= 1.5 for c in cases),
        "open_high_pct": _pct(c["open_high"] for c in cases),
    }


def _annotation_plan_lines(check: Mapping[str, Any]) -> list[str]:
    lines = ["== annotation plan (resweep plan from the other sizes; the largest size left out)"]
    for case in check["cases"]:
        high = "beyond 10x the pool" if case["high"] is None else f"{case['high']:.3g}"
        low = "-" if case["low"] is None else f"{case['low']:.3g}"
        planned = "not within 10x the pool" if case["planned"] is None else f"{case['planned']:.3g}"
        lines.append(
            f"   {case['pair']} {case['cell']} reaches {case['target']:.4f} at size {case['true_size']:g}:"
            f" planned {planned} [{low}, {high}] from {','.join(f'{s:g}' for s in case['from_sizes'])}"
            f" ({case['method']}) — {'inside' if case['inside'] else 'OUTSIDE'} the band"
        )
    median = check["median_ratio"]
    lines.append(
        f"   annotation plan: truth inside the band in {_f(check['inside_pct'])}% of held-out cases,"
        f" median size ratio {'n/a' if median is None else format(median, '.2f')}"
        f" ({len(check['cases'])} cases; planned within 1.5x of the truth in"
        f" {_f(check['within_1_5x_pct'])}%; bands open above (beyond 10x the pool) in"
        f" {_f(check['open_high_pct'])}%)"
    )
    return lines


# ---- the report ----------------------------------------------------------------------------


def _f(value: float | None, spec: str = ".1f") -> str:
    return "n/a" if value is None else format(value, spec)


def _constant(cell: str | None, p: float | None) -> str:
    return "none (no held-out truth)" if cell is None else f"always {cell} ({_f(p)}%)"


def _set(cells: Iterable[str]) -> str:
    return "{" + ", ".join(sorted(cells)) + "}"


ANSWER_HEADER = (
    f"{'answer':<44} {'P in%':>6} {'P dev%':>6} {'P test%':>7} {'P n-t%':>6} {'lift dev':>8}"
    f" {'lift test':>9} {'claims%':>7} {'wrong%':>6} {'eq wrong%':>9} {'test reg':>8} {'C%':>6}"
)


def _answer_line(label: str, s: Mapping[str, Any]) -> str:
    return (
        f"{label:<44} {_f(s['P_in_sample']):>6} {_f(s['P_held_out_dev']):>6} {_f(s['P_held_out_test']):>7}"
        f" {_f(s['P_non_trivial_dev']):>6} {_f(s['lift_dev'], '+.1f'):>8} {_f(s['lift_test'], '+.1f'):>9}"
        f" {_f(s['claims']):>7} {_f(s['wrong_claims']):>6} {_f(s['wrong_equivalences']):>9}"
        f" {_f(s['test_regret_mean'], '.4f'):>8}"
        f" {_f(s['C']):>6}"
    )


MECHANICS_HEADER = (
    f"{'method':<22} {'winner%':>7} {'equiv%':>6} {'undet%':>6} {'seeds':>5} {'regret':>7} {'p90':>7}"
    f" {'trials':>6} {'stopped':>7} {'missing':>7} {'xfer':>5} {'dup':>5}"
)


def _mechanics_line(method: str, m: Mapping[str, Any], s: Mapping[str, Any]) -> str:
    total = max(1, s["answers"])
    verdicts = s["verdicts"]
    shares = ["n/a" if method in EMULATED else f"{100.0 * verdicts[v] / total:.1f}" for v in VERDICTS]
    label = method + (" (emulated)" if method in EMULATED else "")
    return (
        f"{label:<22} {shares[0]:>7} {shares[1]:>6} {shares[2]:>6} {_f(m['recommendation_seeds']):>5}"
        f" {_f(s['regret_mean'], '.4f'):>7} {_f(s['regret_p90'], '.4f'):>7} {_f(m['trials_per_replay']):>6}"
        f" {_f(m['stopped_per_replay']):>7} {_f(m['missing_per_replay']):>7}"
        f" {_f(m['transferred_per_replay']):>5} {_f(m['duplicates_per_replay']):>5}"
    )


def _truth_lines(pair: PairTables) -> tuple[list[str], dict[str, Any]]:
    lines, figures = [], {}
    for t in pair.sizes:
        truth, held = t.truth, t.held_out
        text = (
            f"   size {t.size:g}: {len(t.configs)} configurations; in-sample (seeds"
            f" {','.join(map(str, truth.seeds))}): best {truth.top_dev}"
            f" {truth.dev_mean[truth.best[truth.top_dev]]:.4f}, right {_set(truth.right_dev)}; "
        )
        if held is None:
            text += f"{t.held_out_note}: not scored on held-out truth"
        else:
            bests = ", ".join(f"{c} {held.dev_mean[held.best[c]]:.4f}" for c in held.cells)
            text += (
                f"{t.held_out_note}: best {held.top_dev}, right on dev {_set(held.right_dev)}, on test"
                f" {_set(held.right_test)}; best per strategy (held-out dev): {bests}"
            )
        lines.append(text)
        figures[f"{t.size:g}"] = {
            "configurations": len(t.configs),
            "exhaustive_epochs": t.exhaustive_epochs,
            "in_sample": _truth_figures(truth),
            "held_out_note": t.held_out_note,
            "held_out": None if held is None else _truth_figures(held),
        }
    return lines, figures


def _truth_figures(truth: Truth) -> dict[str, Any]:
    return {
        "seeds": list(truth.seeds),
        "top_dev": truth.top_dev,
        "top_test": truth.top_test,
        "right_dev": sorted(truth.right_dev),
        "right_test": sorted(truth.right_test),
        "best_per_strategy_dev": {c: truth.dev_mean[truth.best[c]] for c in truth.cells},
        "best_per_strategy_test": {c: truth.test_mean[truth.best[c]] for c in truth.cells},
    }


def _planted_lines(planted: Mapping[str, Any], sizes: int) -> list[str]:
    deltas = [f"{d:g}" for d in planted["deltas"] if d > 0]
    beyond = [f"{d:g}" for d in planted["deltas"] if d > MARGIN]  # an equivalent verdict is false
    lines = [
        f"== planted effects: {planted['draws_per_size']} sweep-shaped tables per (pair, size) and delta"
        f" ({planted['draws_per_size'] * sizes} per delta over {sizes} sizes): one strategy's true means in"
        f" every cell, the size's own seed effects and residual noise, +delta on one cell; every"
        f" configuration with seed 0, each cell's best on it confirmed",
        f"   {'procedure':<30} {'false%':>6} {'equiv%':>6} "
        + " ".join(f"{'power ' + d:>10}" for d in deltas)
        + " "
        + " ".join(f"{'wrong ' + d:>10}" for d in deltas)
        + "".join(f" {'f-equiv ' + d:>12}" for d in beyond)
        + f" {'confirm%':>8}",
    ]
    rows = [(p if p.startswith("oracle") else f"decision, {p}", r) for p, r in planted["rates"].items()] + [
        (f"today's tie rule, {p}", r) for p, r in planted["old_rule"].items()
    ]
    for label, rates in rows:
        a_a = rates["0"]
        confirm = statistics.fmean(r["confirmation_pct"] for r in rates.values())
        lines.append(
            f"   {label:<30} {_f(a_a['false_winners']):>6} {_f(a_a['equivalent']):>6} "
            + " ".join(f"{_f(rates[d]['power']):>10}" for d in deltas)
            + " "
            + " ".join(f"{_f(rates[d]['wrong_winners']):>10}" for d in deltas)
            + "".join(f" {_f(rates[d]['equivalent']):>12}" for d in beyond)
            + f" {confirm:>8.1f}"
        )
    lines.append(
        f"   false: % of A/A tables (delta 0) given a winner; equiv: % of A/A tables called equivalent;"
        f" power: % naming the planted cell the winner; wrong: % naming another cell; f-equiv: % called"
        f" equivalent within the margin although one cell is delta (> the margin) better, a false"
        f" equivalence; confirm:"
        f" confirmation runs as % of a fixed {MAX_SEEDS}-seed confirmation of every cell's best (sequential:"
        f" from {START_SEEDS} seeds, one more per round for each contender, up to {MAX_SEEDS}, interim looks"
        f" at confidence {interim_confidence(CONFIDENCE):g}, stopped where the seeds needed exceed"
        f" {FUTILITY:g}x the cap; mean over deltas). Oracle: each cell's truly best configuration and the"
        f" noise known, a z-test at 5% (Bonferroni) — the most power the tables' noise allows at that"
        f" many seeds. Decision: margin {MARGIN}, confidence {CONFIDENCE}. Today's tie rule: the rank-1"
        f" configuration's strategy is the winner when every other strategy's best is separable from it"
        f" (paired t-test at 5%)"
    )
    return lines


def _one_seed_lines(
    one_seed: Sequence[Mapping[str, Any]],
    planted: Mapping[str, Any],
    default_answers: Sequence[Mapping[str, Any]],
) -> list[str]:
    aa = {(p["pair"], p["size"]): p["rates"]["sequential"]["0"]["false_winners"] for p in planted["per_size"]}
    lines = [
        "== what the thesis's design would have said: one seed per configuration (drawn from every seed"
        " the size has), its best run's strategy, against every seed's means (right: within"
        f" {MARGIN} of the best strategy's best)",
        f"   {'pair':<16} {'size':>5} {'seeds':<16} {'right (dev)':<32} {'one-seed false dev%':>19}"
        f" {'test%':>6} {'resweep A/A false%':>18} {'resweep wrong claims%':>21}",
    ]
    for o in one_seed:
        key = (o["pair"], o["size"])
        mine = [a for a in default_answers if (a["pair"], a["size"]) == key and a["claimed"] is not None]
        wrong = _pct(bool(a["wrong_claim"]) for a in mine if a["wrong_claim"] is not None)
        seeds = ",".join(map(str, o["seeds"]))
        lines.append(
            f"   {o['pair']:<16} {o['size']:>5g} {seeds:<16} {_set(o['right_dev']):<32}"
            f" {o['false_dev']:>19.1f} {o['false_test']:>6.1f} {_f(aa.get(key)):>18} {_f(wrong):>21}"
        )
    lines.append(
        "   resweep A/A false: the planted effects' A/A tables of that size given a winner (sequential);"
        " resweep wrong claims: the new default's replays whose winner is not right on the held-out seeds"
        " (n/a: no held-out truth, or no winner claimed). The one-seed study names a winner every time,"
        " so on an A/A table it is always false"
    )
    return lines


def report(
    pairs: Sequence[PairTables],
    results: Sequence[Mapping[str, Any]],
    references: Sequence[Mapping[str, Any]],
    planted: Mapping[str, Any],
    one_seed: Sequence[Mapping[str, Any]],
    methods: Sequence[str],
    default: str,
    settings: Any,  # search_correctness.Settings
    replays: int,
    curve: Mapping[str, Any],
    seconds: float,
) -> tuple[str, dict[str, Any]]:
    lines: list[str] = []
    figures: dict[str, Any] = {
        "pairs": {},
        "settings": vars(settings) | {"replays": replays, "margin": MARGIN},
    }
    lines.append(
        f"search correctness: {replays} replays per method and pair; budget {settings.budget} per size"
        f" ({settings.budget // 4} per strategy cell), {settings.workers} workers, confirm top"
        f" {settings.top_k} per cell with seeds {CONFIRM_SEEDS} (old: top {settings.old_top_k} per size);"
        f" the replays run seeds {','.join(map(str, SEEDS))} only; decision margin {MARGIN}, confidence"
        f" {CONFIDENCE}"
    )
    for pair in pairs:
        used = ", ".join(f"{t.size:g}" for t in pair.sizes) or "none"
        lines.append("")
        lines.append(
            f"== {pair.pair}: sizes used {used}; skipped (incomplete) {', '.join(pair.skipped) or 'none'}"
        )
        truth_lines, truth_figures = _truth_lines(pair)
        lines.extend(truth_lines)
        figures["pairs"][pair.pair] = {"sizes": [t.size for t in pair.sizes], "skipped": pair.skipped,
                                       "truth": truth_figures, "answers": {}}  # fmt: skip

    base = baselines(references)
    groups = answer_groups(results, references, methods, default)
    summaries = {name: summarise(answers, base) for name, answers in groups.items()}
    for pair in pairs:
        figures["pairs"][pair.pair]["answers"] = {
            name: summarise([a for a in answers if a["pair"] == pair.pair], base)
            for name, answers in groups.items()
        }
    figures["answers"] = summaries
    held_sizes = sorted({(a["pair"], a["size"]) for a in references if a["held_out_dev"] is not None})
    figures["baselines"] = {
        "constant_dev": base.constant_dev, "constant_test": base.constant_test, "P_dev": base.p_dev,
        "P_test": base.p_test, "non_trivial_dev": sorted(base.non_trivial_dev),
        "non_trivial_test": sorted(base.non_trivial_test), "held_out_sizes": held_sizes,
    }  # fmt: skip

    lines.append("")
    lines.append("== replays (every pair's used sizes; answers and in-sample regret over (replay, size))")
    lines.append("   " + MECHANICS_HEADER)
    figures["mechanics"] = {}
    for method in methods:
        m = mechanics([r for r in results if r["method"] == method])
        figures["mechanics"][method] = m
        lines.append("   " + _mechanics_line(method, m, summaries[method]))
    lines.append(
        "   winner/equiv/undet: the decision's verdicts; seeds: the answer's configuration's seeds; regret:"
        " in-sample dev (seeds 0-2); per replay: trials run, stopped by the scheduler, missing (proposals the"
        " table lacks, told as errors), xfer (cross-size transfers), dup (search proposals repeating a"
        " configuration already proposed at that size and cell, same seed)"
    )
    odd = [
        f"{m}: {s['stopped_at_end']} trials stopped by the scheduler on their own last epoch"
        for m, s in figures["mechanics"].items()
        if s["stopped_at_end"]
    ] + [f"{m}: {s['stalled']} replays stalled" for m, s in figures["mechanics"].items() if s["stalled"]]
    if odd:
        lines.append("   note: " + "; ".join(odd))

    lines.append("")
    held_text = ", ".join(f"{p} {s:g}" for p, s in held_sizes) or "none"
    lines.append(
        f"== answers (held-out truth at: {held_text}; best constant answer on dev:"
        f" {_constant(base.constant_dev, base.p_dev)}, on test: {_constant(base.constant_test, base.p_test)};"
        f" non-trivial held-out sizes (dev):"
        f" {', '.join(f'{p} {s:g}' for p, s in sorted(base.non_trivial_dev)) or 'none'})"
    )
    lines.append("   " + ANSWER_HEADER)
    for name in groups:
        lines.append("   " + _answer_line(_label(name, default), summaries[name]))
    lines.append(
        "   P in: strategy right on seeds 0-2 (the replays' own runs: cannot fail), over every size; P dev /"
        " test: right on the held-out seeds, over the held-out sizes; P n-t: on the non-trivial ones"
        " (where the best constant answer is wrong); lift: P - the best constant answer's P; claims: %"
        " of answers naming a winner (the rest: no winner claimed, the leading cell scored as the answer);"
        " wrong: % of those winners not right on held-out dev; eq wrong: % of equivalent verdicts the"
        " held-out seeds contradict (a cell's best more than the margin below the best's on dev); test"
        " reg: held-out test mean of the true"
        " best strategy's best configuration - the answer's configuration's (constants: their cell's best"
        " on seeds 0-2); C: epochs run / the exhaustive table's (seeds 0-2)"
    )

    lines.append("")
    lines.extend(_planted_lines(planted, len(planted["per_size"])))
    figures["planted"] = planted
    lines.append("")
    lines.extend(_one_seed_lines(one_seed, planted, groups.get(default, [])))
    figures["one_seed_false_winners"] = list(one_seed)

    lines.append("")
    lines.append("== learning-curve check (estimate_at from the other sizes' in-sample boards)")
    for case in curve["cases"]:
        lines.append(
            f"   {case['pair']} size {case['held_out']:g}"
            f" from {','.join(f'{s:g}' for s in case['from_sizes'])}:"
            f" predicted best {case['predicted_best']:.4f} ({case['method']})"
            f" vs true {case['true_best']:.4f};"
            f" recommends {case['recommended']} ({'in' if case['right'] else 'NOT in'} the right set"
            f" {_set(case['right_set'])})"
        )
    lines.append(
        f"   learning curve: mean absolute error of the predicted best score {_f(curve['mae'], '.4f')}"
        f" over {len(curve['cases'])} sizes; recommended strategy right (in-sample) in"
        f" {_f(curve['right_pct'])}% of them"
    )
    figures["learning_curve"] = curve
    if "annotation_plan" in curve:
        lines.append("")
        lines.extend(_annotation_plan_lines(curve["annotation_plan"]))

    lines.append("")
    lines.append(f"runtime {seconds:.1f} s")
    chosen = summaries.get(default) or summarise([], base)
    sequential = planted["rates"]["sequential"]
    false_winners = sequential["0"]["false_winners"] if "0" in sequential else None
    power = sequential[POWER_DELTA]["power"] if POWER_DELTA in sequential else None
    discriminates = bool(base.non_trivial_dev)
    if not discriminates:
        # a figure a constant answer matches proves nothing: the benchmark must be able to fail
        lines.append(
            f"WARNING: this run cannot fail: always {base.constant_dev} is right at every held-out size; add"
            " held-out seeds at sizes whose right set excludes it (bench/ground_truth.py --seeds 3,4,5)"
        )
    elif (chosen["lift_dev"] or 0.0) <= 0.0:
        lines.append(
            f"WARNING: the method does no better than always {base.constant_dev} (lift"
            f" {_f(chosen['lift_dev'])} points on held-out dev)"
        )
    lines.append(
        f"regret ({default}): in-sample dev mean {_f(chosen['regret_mean'], '.4f')}, p90"
        f" {_f(chosen['regret_p90'], '.4f')}; held-out test mean {_f(chosen['test_regret_mean'], '.4f')}"
        f" (weighted F1, 0..1)"
    )
    lines.append(
        f"overall: correct decisions {_f(chosen['P_held_out_dev'])}% (held-out truth; best constant"
        f" {'none' if base.constant_dev is None else f'always {base.constant_dev} {_f(base.p_dev)}%'}),"
        f" false winners"
        f" {_f(false_winners)}% (A/A), power {_f(power)}% at delta {POWER_DELTA}, regret"
        f" {_f(chosen['test_regret_mean'], '.4f')} on test, at {_f(chosen['C'])}% of the exhaustive cost"
    )
    figures["default"] = default
    figures["overall"] = {
        "P": chosen["P_held_out_dev"],
        "false_winners": false_winners,
        "power_at_0.02": power,
        "test_regret": chosen["test_regret_mean"],
        "C": chosen["C"],
        "best_constant_dev": base.p_dev,
        "lift_dev": chosen["lift_dev"],
        "non_trivial_dev_sizes": len(base.non_trivial_dev),
        "discriminates": discriminates,
    }
    figures["runtime_seconds"] = seconds
    return "\n".join(lines), figures
