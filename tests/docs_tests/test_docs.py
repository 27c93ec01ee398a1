"""The documentation site: it builds without a warning, and every code block marked
``<!-- runnable -->`` in ``docs/*.md`` runs as written (see docs/development.md, "Runnable code
blocks"). Each block runs in a fresh temporary folder that links the checkout's ``bench/``,
``configs/`` and ``tests/`` (paths read as from the repository root; what a block writes stays
in the temporary folder), offline, with a timeout."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
MARKER = "<!-- runnable -->"
LINKED = ("bench", "configs", "tests")  # what a block may read, as from the repository root
TIMEOUT = 60  # seconds per block; the blocks are meant to take a few
FENCE = re.compile(r"^(`{3,}|~{3,})\s*([\w+-]*)")
LANGUAGES = {  # a fence's language -> what runs the block
    "python": "python",
    "py": "python",
    "bash": "bash",
    "sh": "bash",
    "shell": "bash",
    "console": "bash",
}


@dataclass(frozen=True)
class Block:
    page: str  # relative to docs/
    line: int  # 1-based line of the opening fence
    language: str
    code: str

    def __str__(self) -> str:
        return f"{self.page}:{self.line}"


def runnable_blocks(text: str, page: str) -> list[Block]:
    """The code blocks of ``text`` preceded by the marker (on its own line, outside any fence;
    blank lines between the marker and the fence are allowed). A marker followed by anything but
    a fence is an error, so a marker cannot silently stop marking."""
    lines = text.split("\n")
    blocks: list[Block] = []
    fence: str | None = None  # the opening fence of the block we are in
    marked_at: int | None = None
    start = 0
    language = ""
    for number, line in enumerate(lines, start=1):
        match = FENCE.match(line)
        if fence is not None:  # inside a block: only its own closing fence ends it
            if line.strip() == fence or (match and match.group(1) == fence and not match.group(2)):
                if marked_at is not None:
                    code = "\n".join(lines[start : number - 1]) + "\n"
                    blocks.append(Block(page, start, language, code))
                    marked_at = None
                fence = None
            continue
        if match:
            fence, language, start = match.group(1), match.group(2).lower(), number
            continue
        if line.strip() == MARKER:
            assert marked_at is None, f"{page}:{number}: two markers in a row"
            marked_at = number
        elif line.strip() and marked_at is not None:
            raise AssertionError(f"{page}:{marked_at}: {MARKER} is not followed by a code block")
    assert marked_at is None or fence is not None, f"{page}:{marked_at}: {MARKER} at the end of the page"
    for block in blocks:
        assert block.language in LANGUAGES, (
            f"{block}: a runnable block needs a language, one of {', '.join(sorted(LANGUAGES))}; "
            f"got {block.language!r}"
        )
    return blocks


def all_blocks() -> list[Block]:
    return [
        block
        for path in sorted(DOCS.rglob("*.md"))
        for block in runnable_blocks(path.read_text(), str(path.relative_to(DOCS)))
    ]


BLOCKS = all_blocks()


def test_the_marker_finds_blocks_outside_fences_only() -> None:
    text = (
        "intro\n\n<!-- runnable -->\n```bash\necho one\n```\n\n"
        "````\n<!-- runnable -->\n```bash\necho inside an example\n```\n````\n\n"
        "```python\nprint('not marked')\n```\n\n<!-- runnable -->\n\n```python\nprint(2)\n```\n"
    )
    blocks = runnable_blocks(text, "x.md")
    assert [(b.line, b.language, b.code) for b in blocks] == [
        (4, "bash", "echo one\n"),
        (21, "python", "print(2)\n"),
    ]
    with pytest.raises(AssertionError, match="not followed by a code block"):
        runnable_blocks("<!-- runnable -->\ntext\n```bash\ntrue\n```\n", "y.md")


def test_the_docs_have_runnable_blocks() -> None:
    # The pages that promise runnable examples: if a block loses its marker, this says so.
    pages = {block.page for block in BLOCKS}
    assert {"getting-started.md", "guides/data.md", "guides/leaderboard.md"} <= pages, pages
    assert {block.language for block in BLOCKS} >= {"python", "bash"}


@pytest.mark.parametrize("block", BLOCKS, ids=str)
def test_a_runnable_block_runs(block: Block, tmp_path: Path) -> None:
    for name in LINKED:
        (tmp_path / name).symlink_to(ROOT / name, target_is_directory=True)
    venv_bin = str(Path(sys.executable).parent)  # `resweep` is installed beside this Python
    environment = {
        **os.environ,
        "PATH": venv_bin + os.pathsep + os.environ.get("PATH", ""),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
        "RESWEEP_CACHE_DIR": str(tmp_path / ".cache"),  # the conftest's is per test too; be explicit
    }
    environment.pop("RESWEEP_DATA_DIR", None)
    if LANGUAGES[block.language] == "python":
        command = [sys.executable, "-c", block.code]
    else:
        command = ["bash", "-euo", "pipefail", "-c", block.code]
    ran = subprocess.run(
        command, cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    assert ran.returncode == 0, (
        f"docs/{block} exited {ran.returncode}:\n{block.code}\n--- stdout\n{ran.stdout[-3000:]}"
        f"\n--- stderr\n{ran.stderr[-3000:]}"
    )


@pytest.mark.skipif(
    importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("mkdocstrings") is None,
    reason="mkdocs and mkdocstrings are not installed: pip install -e '.[docs]' (make install does it)",
)
def test_the_site_builds_strict_and_offline(tmp_path: Path) -> None:
    # --strict: a page missing from the nav, a broken link or anchor, or a docstring that does not
    # render fails the build. Into a temporary folder, so site/ is left alone.
    environment = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "OMP_NUM_THREADS": "1"}
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-5000:]
    assert "WARNING" not in built.stderr, built.stderr[-5000:]
    reference = (tmp_path / "site" / "reference.html").read_text()  # use_directory_urls: false
    assert 'id="search.answer.leaderboard.leaderboard"' in reference  # mkdocstrings rendered the API
