"""An in-domain size has one value type: a config's number, the results store's float64 and a
study's key all name the same size."""

from __future__ import annotations

import math

import pytest

from search.sizes import InDomainSize, size_key, size_text


@pytest.mark.parametrize(
    ("configured", "key", "text"),
    [
        (0.1, "id0.1", "10%"),
        (1.0, "id1", "100%"),
        (300, "id300", "300 sentences"),
        (0.111111, "id0.111111", "11.11%"),
    ],
)
def test_a_size_reads_back_the_same_from_the_store_and_from_its_key(configured, key, text) -> None:
    size = InDomainSize.of(configured)
    stored = float(size)  # what the results store writes (float64)
    assert InDomainSize.of(stored) == size and InDomainSize.from_key(key) == size
    assert size.key == size_key(configured) == size_key(stored) == key
    assert size.text == size_text(stored) == text
    assert size.matches(stored) and not size.matches(None)
    assert size.is_count == isinstance(configured, int)


def test_a_large_count_keeps_its_digits_in_its_key() -> None:
    # f"{1234567.0:g}" is "1.23457e+06": a count read back from the store must not become that.
    assert size_key(1_234_567.0) == size_key(1_234_567) == "id1234567"


@pytest.mark.parametrize("bad", [0, 0.0, -0.5, 2.5, math.nan, "0.1", True, None])
def test_what_is_not_a_size_is_refused(bad) -> None:
    with pytest.raises(ValueError, match="in-domain"):
        InDomainSize.of(bad)
