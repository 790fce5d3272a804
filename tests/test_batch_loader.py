"""The loaders' batching: every load of one tick in one batch, failures reach every caller."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from resolvers.batch_loader import BatchLoader
from resolvers.loaders import KeyedLoader


class Doubling(BatchLoader[int, int]):
    def __init__(self, fail: bool = False) -> None:
        super().__init__()
        self.batches: list[list[int]] = []
        self.fail = fail

    async def batch_load_fn(self, keys: Sequence[int]) -> list[int]:
        self.batches.append(list(keys))
        await asyncio.sleep(0)  # a real batch waits for its database
        if self.fail:
            raise RuntimeError("database gone")
        return [key * 2 for key in keys]


async def test_loads_of_one_tick_form_one_batch_and_later_loads_another() -> None:
    loader = Doubling()
    first = list(await asyncio.gather(loader.load(1), loader.load(2), loader.load(1), loader.load(3)))
    later = list(await asyncio.gather(loader.load(3), loader.load(4)))
    assert first == [2, 4, 2, 6]
    assert later == [6, 8]
    # 1 asked twice is fetched once; 3 is cached by then.
    assert loader.batches == [[1, 2, 3], [4]]


async def test_loads_from_sibling_tasks_share_a_batch() -> None:
    loader = Doubling()

    async def resolver(key: int) -> int:
        await asyncio.sleep(0)  # resolvers reach their load at different points of the tick
        return await loader.load(key)

    assert await asyncio.gather(*(resolver(key) for key in range(5))) == [0, 2, 4, 6, 8]
    assert loader.batches == [[0, 1, 2, 3, 4]]


async def test_a_failed_batch_fails_every_load_and_is_not_cached() -> None:
    loader = Doubling(fail=True)
    results = await asyncio.gather(loader.load(1), loader.load(2), return_exceptions=True)
    assert [str(result) for result in results] == ["database gone", "database gone"]
    loader.fail = False
    assert await loader.load(1) == 2
    assert loader.batches == [[1, 2], [1]]


async def test_max_batch_size_splits_a_batch() -> None:
    loader = Doubling()
    loader.max_batch_size = 2
    assert await asyncio.gather(*(loader.load(key) for key in range(5))) == [0, 2, 4, 6, 8]
    assert loader.batches == [[0, 1], [2, 3], [4]]


async def test_load_alone_reads_at_once_and_caches_for_later_loads() -> None:
    fetched: list[list[str]] = []

    async def fetch(keys: list[str]) -> list[str]:
        fetched.append(keys)
        return [key for key in keys if key != "missing"]

    loader: KeyedLoader[str, str] = KeyedLoader(fetch, lambda row: row)
    assert await loader.load_alone("a") == "a"
    assert await loader.load_alone("missing") is None
    assert list(await asyncio.gather(loader.load("a"), loader.load("missing"), loader.load_alone("a"))) == [
        "a",
        None,
        "a",
    ]
    assert fetched == [["a"], ["missing"]]


async def test_a_batch_is_kept_alive_while_it_runs() -> None:
    loader = Doubling()
    pending = loader.load(7)
    await asyncio.sleep(0)  # the dispatch callback has started the batch's task
    assert len(loader._running) == 1
    assert await pending == 14
    await asyncio.sleep(0)
    assert not loader._running


@pytest.mark.parametrize("keys", [[], [5]])
async def test_batches_hold_exactly_the_keys_loaded(keys: list[int]) -> None:
    loader = Doubling()
    assert await asyncio.gather(*(loader.load(key) for key in keys)) == [key * 2 for key in keys]
    assert loader.batches == ([keys] if keys else [])
