"""The one helper that swaps a Ray module's name for an experiment and puts it back."""

from __future__ import annotations

import json

import pytest

from search.driver.swapped import swapped


def test_the_name_is_swapped_within_and_put_back_however_the_block_ends() -> None:
    original = json.dumps
    seen = []
    with swapped("json", "dumps", lambda old: seen.append(old) or "new") as done:
        assert done is True
        assert json.dumps == "new"
    assert json.dumps is original
    assert seen == [original]  # the replacement is built from the original
    with pytest.raises(RuntimeError), swapped("json", "dumps", lambda old: "new"):
        raise RuntimeError
    assert json.dumps is original


def test_a_module_without_the_name_is_left_as_it_is() -> None:
    with swapped("json", "no_such_name", lambda old: pytest.fail("must not be built")) as done:
        assert done is False
    assert not hasattr(json, "no_such_name")


def test_a_missing_module_is_left_as_it_is() -> None:
    with swapped("no_such_module_anywhere", "x", lambda old: pytest.fail("must not be built")) as done:
        assert done is False
