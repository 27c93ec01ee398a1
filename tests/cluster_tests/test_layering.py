"""The layering, read from the source: `search/` uses everything; `spaces/` uses trainables;
`trainables/` uses only the storage layer of `cluster/`; `cluster/` imports nothing of resweep's."""

from __future__ import annotations

import ast
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


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports (at any depth: function-level imports count too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_a_package_imports_only_the_layers_below_it(package: str) -> None:
    wrong = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for module in _imports(path):
            top = module.split(".")[0]
            if top in PACKAGES and top != package and not module.startswith(ALLOWED[package]):
                wrong.append(f"{path.relative_to(ROOT)} imports {module}")
    assert not wrong, "\n".join(wrong)
