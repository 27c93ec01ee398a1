"""The layering, read from the source: `search/` uses everything; `spaces/` uses trainables;
`trainables/` uses only the storage layer of `cluster/`; `cluster/` imports nothing of resweep's.
And no cycle among resweep's modules.

Every import counts, at any depth: top-level and inside functions, absolute and relative (resolved
to the module it names; ``from package import name`` is the submodule when ``name`` is one),
under ``if TYPE_CHECKING:``, ``importlib.import_module("...")`` with a literal name, and the
registries' lazy ``"module:attribute"`` entries (imported on first lookup). The graph is of
modules: ``trainables.architectures`` is the package's ``__init__``, and importing a submodule
is an edge to the submodule only.

The cycle rule reads the imports that run: top-level, inside functions, and ``import_module``
literals. Two kinds are left out, each because it never imports anything out of order:

* ``if TYPE_CHECKING:`` imports never run; an annotation may name a class of a module above
  (an architecture's methods take the :class:`trainables.config.TrialSpec` that looks the
  architectures up);
* a registry's lazy entry is imported by whoever asks the registry for it, after the registry
  and its module are loaded; an entry may use the registry it is listed in (``two-step`` looks
  its inner architecture up in :data:`trainables.architectures.ARCHITECTURES`; the searchers
  and schedulers use :mod:`search.registries`).

Both still count for the layering between packages.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("search", "spaces", "trainables", "cluster")
# What each package may import of the others (module prefixes).
ALLOWED = {
    "cluster": (),
    "trainables": ("cluster.storage",),
    "spaces": ("trainables",),
    "search": ("cluster", "trainables", "spaces"),
}
# Strongly connected components allowed among the imports that run: frozenset of modules -> why.
ALLOWED_CYCLES: dict[frozenset[str], str] = {}

TOP, FUNCTION, TYPE_CHECKING, IMPORT_MODULE, REGISTRY = (
    "top-level",
    "in a function",
    "if TYPE_CHECKING",
    "import_module",
    "registry entry",
)
RUNS = (TOP, FUNCTION, IMPORT_MODULE)  # the kinds the cycle rule reads
_ENTRY = re.compile(rf"((?:{'|'.join(PACKAGES)})(?:\.\w+)+):\w+")


@dataclass(frozen=True)
class Import:
    source: str
    target: str  # a module of resweep's (the longest module the imported name starts with)
    line: int
    kind: str

    def __str__(self) -> str:
        return f"{self.source} -> {self.target} (line {self.line}, {self.kind})"


def _module_of(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def _files() -> dict[str, Path]:
    return {_module_of(path): path for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))}


def _resolve(name: str) -> str | None:
    """The module of resweep's that ``name`` (a module, or a name inside one) is, or is in."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in _files():
            return ".".join(parts[:end])
    return None


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports_of(module: str) -> list[Import]:
    """Every import of resweep's modules in ``module``, at any depth."""
    path = _files()[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[Import] = []

    def add(name: str | None, line: int, kind: str) -> None:
        target = _resolve(name) if name else None
        if target is not None and target != module and Import(module, target, line, kind) not in found:
            found.append(Import(module, target, line, kind))

    def visit(node: ast.AST, kind: str) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node.lineno, kind)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                origin = ".".join([*base, *([node.module] if node.module else [])])
            else:
                origin = node.module or ""
            for alias in node.names:
                submodule = f"{origin}.{alias.name}"
                add(submodule if submodule in _files() else origin, node.lineno, kind)
        elif isinstance(node, ast.Call) and _call_name(node) in ("import_module", "__import__"):
            first = node.args[0] if node.args else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                add(first.value, node.lineno, IMPORT_MODULE)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            entry = _ENTRY.fullmatch(node.value)
            if entry:
                add(entry.group(1), node.lineno, REGISTRY)
        if isinstance(node, ast.If) and _is_type_checking(node):
            for statement in node.body:
                visit(statement, TYPE_CHECKING)
            for statement in node.orelse:
                visit(statement, kind)
            visit(node.test, kind)
            return
        inner = FUNCTION if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) else kind
        if kind == TYPE_CHECKING:
            inner = TYPE_CHECKING
        for child in ast.iter_child_nodes(node):
            visit(child, inner)

    visit(ast.parse(path.read_text(), str(path)), TOP)
    return found


def _call_name(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


@cache
def _graph() -> dict[str, tuple[Import, ...]]:
    return {module: tuple(_imports_of(module)) for module in _files()}


def _components(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _cycle_in(component: Iterable[str], imports: dict[str, list[Import]]) -> list[Import]:
    """One cycle through the component's first module: the imports that make it, in order."""
    members = set(component)
    first = min(members)
    paths: dict[str, list[Import]] = {first: []}
    queue = [first]
    while queue:
        node = queue.pop(0)
        for step in imports[node]:
            if step.target == first:
                return [*paths[node], step]
            if step.target in members and step.target not in paths:
                paths[step.target] = [*paths[node], step]
                queue.append(step.target)
    raise AssertionError(f"no cycle through {first}")


def _running_imports() -> dict[str, list[Import]]:
    return {module: [i for i in found if i.kind in RUNS] for module, found in _graph().items()}


def _imports_from(prefixes: tuple[str, ...], kinds: tuple[str, ...] = RUNS) -> Iterable[Import]:
    for module, found in _graph().items():
        if module == prefixes or module.startswith(prefixes):
            yield from (i for i in found if i.kind in kinds)


def _within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(f"{p}.") for p in prefixes)


def test_the_reader_sees_every_kind_of_import() -> None:
    """The graph is read right: relative, function-level, TYPE_CHECKING and registry imports."""
    imports = {(i.source, i.target): i.kind for found in _graph().values() for i in found}
    assert imports[("trainables.loop", "trainables.loop_config")] == TOP  # relative
    assert imports[("trainables.config", "trainables.architectures")] == FUNCTION
    assert imports[("trainables.architectures._base", "trainables.config")] == TYPE_CHECKING
    assert imports[("trainables.architectures", "trainables.architectures.two_step")] == REGISTRY
    assert imports[("search.registries", "search.driver.searchers")] == REGISTRY
    assert imports[("trainables.strategies", "trainables.strategies.local")] == TOP  # from . import
    for found in _graph().values():  # every lazy entry names a module that exists
        for i in found:
            assert i.kind != REGISTRY or i.target in _files(), i


@pytest.mark.parametrize("package", PACKAGES)
def test_a_package_imports_only_the_layers_below_it(package: str) -> None:
    wrong = []
    for module, found in sorted(_graph().items()):
        if module.split(".")[0] != package:
            continue
        for i in found:
            top = i.target.split(".")[0]
            if top != package and not i.target.startswith(ALLOWED[package]):
                wrong.append(str(i))
    assert not wrong, "\n".join(wrong)


def test_no_cycle_among_resweeps_modules() -> None:
    imports = _running_imports()
    edges = {module: {i.target for i in found} for module, found in imports.items()}
    cycles = []
    for component in _components(edges):
        if frozenset(component) in ALLOWED_CYCLES:
            continue
        steps = "\n".join(f"    {step}" for step in _cycle_in(component, imports))
        cycles.append(f"  cycle among {', '.join(component)}; for example:\n{steps}")
    assert not cycles, "import cycles:\n" + "\n".join(cycles)
    stale = [sorted(c) for c in ALLOWED_CYCLES if list(sorted(c)) not in _components(edges)]
    assert not stale, f"allowed cycles that are gone (remove them): {stale}"


# Rules inside the packages (the imports that run; TYPE_CHECKING ones are named where they count).
def test_the_data_layer_uses_only_errors_registries_and_inputs_of_trainables() -> None:
    allowed = ("trainables.data", "trainables.errors", "trainables.registry", "trainables.inputs")
    wrong = [
        str(i)
        for i in _imports_from(("trainables.data",), (*RUNS, TYPE_CHECKING, REGISTRY))
        if i.target.startswith("trainables") and not _within(i.target, allowed)
    ]
    assert not wrong, "\n".join(wrong)


def test_the_loop_knows_no_architecture_phase_one_or_trial_config() -> None:
    """The loop, its settings, the optimiser, checkpoints and imbalance techniques are below the
    architectures (which hand the loop a task) and the trial config (whose ``loop`` section is
    :class:`trainables.loop_config.LoopConfig`)."""
    loop = (
        "trainables.loop",
        "trainables.loop_config",
        "trainables.optim",
        "trainables.checkpoint",
        "trainables.imbalance",
    )
    above = ("trainables.architectures", "trainables.phase1", "trainables.config", "trainables.trial")
    wrong = [
        str(i) for i in _imports_from(loop, (*RUNS, TYPE_CHECKING, REGISTRY)) if _within(i.target, above)
    ]
    assert not wrong, "\n".join(wrong)


def test_architectures_and_phase_one_name_the_trial_config_only_in_annotations() -> None:
    """:class:`trainables.config.TrialSpec` looks the architectures up (their settings, their
    rules): they and phase 1 import it only under ``TYPE_CHECKING``."""
    users = ("trainables.architectures", "trainables.phase1")
    wrong = [str(i) for i in _imports_from(users) if _within(i.target, ("trainables.config",))]
    assert not wrong, "\n".join(wrong)


def test_trackers_are_handed_the_boards_rather_than_importing_them() -> None:
    """Tracking is below the leaderboard, the report, the plan and the sweep: what it logs of
    them (a size's board and plots) is handed to :class:`search.tracking.TrackingHub`."""
    allowed = ("search.tracking", "search.registries", "search.sizes", "search.paths")
    wrong = [
        str(i)
        for i in _imports_from(("search.tracking",), (*RUNS, TYPE_CHECKING))
        if i.target.startswith("search") and not _within(i.target, allowed)
    ]
    assert not wrong, "\n".join(wrong)


def test_reading_a_sweep_loads_neither_ray_nor_optuna_modules() -> None:
    """The config, the plan, the results, the decision and the leaderboard (``resweep status``,
    ``leaderboard``, ``sweep --dry-run``) never import the modules that import Ray or Optuna;
    the registries name them as lazy entries only."""
    core = (
        "search.config",
        "search.plan",
        "search.paths",
        "search.answer.sequential",
        "search.results",
        "search.answer.decision",
        "search.answer.leaderboard",
        "search.sizes",
        "search.registries",
    )
    heavy = (
        "search.driver.searchers",
        "search.driver.schedulers",
        "search.driver.studies",
        "search.driver.sweep",
        "search.driver.callback",
    )
    wrong = [str(i) for i in _imports_from(core) if _within(i.target, heavy)]
    assert not wrong, "\n".join(wrong)


ROOMS = ("search.driver", "search.answer", "search.models")
# What each room of search/ may import of the others (besides the shared modules beneath them).
ROOM_ALLOWED = {
    "search.driver": ("search.answer",),  # the progress view and confirmation read the decision
    "search.answer": (),
    "search.models": ("search.answer",),  # a model is trained from the answer's recipe
}
ABOVE_ROOMS = ("search.api", "search.cli")
# Shared modules that use a room, each with its reason: (importer, imported) -> why.
SHARED_USES: dict[tuple[str, str], str] = {
    ("search.plan", "search.answer.sequential"): "a size's expected runs include the sequential "
    "confirmation rounds its rows call for, counted by the answer's rule (in a function, no Ray)",
}


def _shared(module: str) -> bool:
    """A module of search/ beneath the rooms: what a sweep is (config, sizes, plan, paths,
    results, ...) and the trackers."""
    return (
        module.startswith("search.")
        and not _within(module, (*ROOMS, *ABOVE_ROOMS))
        and module != "search.moved_modules"
    )


def test_search_is_in_rooms_and_the_shared_modules_are_beneath_them() -> None:
    """``search/`` shows its three jobs: the driver runs a sweep, the answer reads what it found,
    models train and use the recommendation. The shared modules import no room (not even for
    annotations), a room imports only the rooms listed for it, and only the API and the command
    line sit above them all."""
    every = (*RUNS, TYPE_CHECKING)  # a registry's lazy entries are loaded by who looks them up
    wrong = []
    for module, found in sorted(_graph().items()):
        for i in (i for i in found if i.kind in every):
            shared_use = _shared(module) and _within(i.target, (*ROOMS, *ABOVE_ROOMS))
            if shared_use and (module, i.target) not in SHARED_USES:
                wrong.append(f"shared module imports a room: {i}")
            for room, allowed in ROOM_ALLOWED.items():
                others = tuple(r for r in ROOMS if r != room and r not in allowed)
                if _within(module, (room,)) and _within(i.target, (*others, *ABOVE_ROOMS)):
                    wrong.append(f"{room} imports what it may not: {i}")
    assert not wrong, "\n".join(wrong)
    assert all(any(m.startswith(f"{room}.") for m in _files()) for room in ROOMS)


def test_the_old_module_names_import_as_the_modules_they_became() -> None:
    """A Tune experiment saved before the rooms pickled ``search.searchers.PerSizeSearch`` and
    the like (these names were read out of a sweep's ``tuner.pkl``, searcher state and experiment
    state): unpickling them gives today's classes, so such a sweep resumes and extends."""
    import importlib
    import pickle

    from search.moved_modules import MOVED

    pickled_by_an_earlier_sweep = [
        ("search.callback", "SweepCallback"),
        ("search.plan", "configuration_key"),
        ("search.searchers", "PerSizeSearch"),
        ("search.searchers", "ResumableOptunaSearch"),
        ("search.studies", "StudyStorage"),
        ("search.schedulers", "PerSizeScheduler"),
    ]
    for module, name in pickled_by_an_earlier_sweep:
        found = pickle.loads(f"c{module}\n{name}\n.".encode())  # the opcode pickle writes
        today = getattr(importlib.import_module(MOVED.get(module, module)), name)
        assert found is today, (module, name)
    for old, new in MOVED.items():
        assert importlib.import_module(old) is importlib.import_module(new)
        assert new in _files() and old not in _files()  # a real move, no file left at the old path
