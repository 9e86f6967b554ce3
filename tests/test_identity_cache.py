"""config.identity_cache: values kept by an object's id() must never be handed to another object
that was later given the same id (CPython reuses a freed object's memory, and so its id)."""
from __future__ import annotations

import gc

import pytest

from simsvc.config.identity_cache import IdentityCache


class Spec:
    """Stands for a frozen scenario part: unhashable by content, compared by identity."""

    def __init__(self, n: int) -> None:
        self.n = n


class NaiveCache:
    """The hazard: values kept by id() alone, without the object."""

    def __init__(self) -> None:
        self.held: dict = {}

    def get(self, obj, key, compute):
        k = (id(obj), key)
        if k not in self.held:
            self.held[k] = compute()
        return self.held[k]


def _values_after_the_first_is_freed(cache, tries: int = 2000) -> tuple[bool, list[tuple[int, int]]]:
    """Cache a value computed from one Spec, drop the caller's reference to it, then ask for the
    values of new Specs (kept alive) until one is given the first one's id or ``tries`` run out.
    Returns whether an id was reused, and (what each new Spec was given, what it should be)."""
    # Objects of the same size first, kept alive to the end: they use up the free blocks scattered
    # among pymalloc's pools, so that the first Spec comes from the pool the next ones are taken
    # from. Without them, Python 3.13 (whose instances hold their attributes inline: one 80-byte
    # block) gave the first Spec a block in another pool under pytest, and no id was reused.
    warm = [Spec(-1) for _ in range(1000)]  # noqa: F841 - alive until the function returns
    first = Spec(0)
    freed_id = id(first)
    assert cache.get(first, "k", lambda: 0) == 0   # (the value of first.n)
    del first   # freed here unless the cache holds it (no gc.collect(): it keeps the memory from reuse)
    alive, given, reused = [], [], False
    for n in range(1, tries + 1):
        spec = Spec(n)
        alive.append(spec)
        given.append((cache.get(spec, "k", lambda spec=spec: spec.n), n))
        if id(spec) == freed_id:
            reused = True
            break
    return reused, given


def test_a_naive_id_keyed_dict_hands_a_freed_objects_value_to_a_new_one() -> None:
    """The hazard is real here (else the next test would show nothing)."""
    reused, given = _values_after_the_first_is_freed(NaiveCache())
    assert reused
    assert given[-1] == (0, given[-1][1])   # the new object got the freed one's value


@pytest.mark.parametrize("size", [1, 3, 5000])
def test_the_cache_never_hands_an_objects_value_to_another(size: int) -> None:
    """Small: emptied again and again, the first object is let go and its id given to another
    (which gets its own value); large: the first is held, so its id stays its own."""
    reused, given = _values_after_the_first_is_freed(IdentityCache(size))
    assert given and all(got == want for got, want in given)
    assert reused == (size < 5000)


def test_the_cache_holds_what_it_keeps_and_lets_go_when_emptied() -> None:
    import weakref

    cache = IdentityCache(2)
    spec = Spec(7)
    ref = weakref.ref(spec)
    cache.get(spec, "k", lambda: 7)
    del spec
    gc.collect()
    assert ref() is not None   # held while its value is kept
    cache.get(Spec(8), "k", lambda: 8)
    cache.get(Spec(9), "k", lambda: 9)   # full: emptied before this one is kept
    gc.collect()
    assert ref() is None and len(cache) == 1


def test_values_are_computed_once_per_object_and_key() -> None:
    cache = IdentityCache(8)
    calls = []

    def compute(value):
        calls.append(value)
        return value

    a, b = Spec(1), Spec(1)   # equal contents, two objects
    assert cache.get(a, 15, lambda: compute("a15")) == "a15"
    assert cache.get(a, 15, lambda: compute("again")) == "a15"
    assert cache.get(a, 30, lambda: compute("a30")) == "a30"   # another key: its own value
    assert cache.get(b, 15, lambda: compute("b15")) == "b15"   # another object: its own value
    assert calls == ["a15", "a30", "b15"]


def test_a_failed_computation_keeps_nothing() -> None:
    cache = IdentityCache(2)
    spec = Spec(1)

    def fail():
        raise ValueError("no")

    with pytest.raises(ValueError):
        cache.get(spec, "k", fail)
    assert len(cache) == 0
    assert cache.get(spec, "k", lambda: 1) == 1


def test_the_size_is_at_least_one() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        IdentityCache(0)


def test_a_replays_trace_that_fails_validation_comes_back_as_its_spec(monkeypatch):
    """``calibrate.replay._validated_trace``: validated once and kept; a spec that fails
    validation (not expected) is handed back as it is, unkept; an error building it passes."""
    import pandas as pd

    from simsvc.calibrate import replay
    from simsvc.config import schema

    contacts = pd.DataFrame({"x": [1]})
    built: list[int] = []

    def spec(g, index, reasons, own_handles):
        built.append(1)
        return {"trace": "made"}

    monkeypatch.setattr(replay, "trace_spec", spec)
    monkeypatch.setattr(replay, "_TRACES", replay.IdentityCache(8))

    def invalid(value):
        raise ValueError("bad")

    monkeypatch.setattr(schema.DemandSpec, "model_validate", invalid)
    assert replay._validated_trace(contacts, [1], "phone", None, {}, ["a"], False) == {"trace": "made"}
    assert len(replay._TRACES) == 0

    monkeypatch.setattr(schema.DemandSpec, "model_validate", lambda value: ("valid", value["trace"]))
    first = replay._validated_trace(contacts, [1], "phone", None, {}, ["a"], False)
    n = len(built)
    assert first == ("valid", "made")
    assert replay._validated_trace(contacts, [1], "phone", None, {}, ["a"], False) is first and len(built) == n

    def broken(g, index, reasons, own_handles):
        raise ValueError("the log's own error")

    monkeypatch.setattr(replay, "trace_spec", broken)
    with pytest.raises(ValueError, match="the log's own error"):
        replay._validated_trace(contacts, [2], "phone", None, {}, ["a"], False)
