"""Case and referral codes: readable, from the safe alphabet, every symbol in every place."""

from __future__ import annotations

from collections import Counter

from storage.ids import CODE_ALPHABET, new_code, normalise_code


def test_codes_are_grouped_and_use_only_the_readable_alphabet() -> None:
    codes = [new_code() for _ in range(5000)]
    assert all(len(c) == 9 and c[4] == "-" for c in codes)
    assert all(set(c.replace("-", "")) <= set(CODE_ALPHABET) for c in codes)
    assert len(set(codes)) == len(codes)
    assert all(normalise_code(c.lower().replace("-", " ")) == c for c in codes[:50])


def test_every_symbol_appears_in_every_place() -> None:
    places = [Counter[str]() for _ in range(8)]
    for _ in range(6000):
        for place, symbol in zip(places, new_code().replace("-", ""), strict=True):
            place[symbol] += 1
    for place in places:  # about 194 each: far from 0, far from all
        assert set(place) == set(CODE_ALPHABET)
        assert max(place.values()) < 400
