"""Every cache the process keeps, each with a bound, all listed in one place.

Many caches are keyed by what clients send: the columns a selection reads, a
document's text, a bearer token. Such a cache grows with the variety of the
requests unless it evicts, and a worker has a memory budget (200 MB), so every
cache is bounded: a function through ``bounded`` (``functools.lru_cache``), an
object's caches by an LRU it reports through ``cache_sizes`` after ``track``.
``sizes()`` lists them all; a test drives thousands of distinct selections
through the app and holds every listed cache to its bound, and another refuses a
cache made any other way. (The lowest layer, so that every other can register.)
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ParamSpec, Protocol, TypeVar, cast

from sqlalchemy.util import LRUCache

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True)
class CacheSize:
    """How many entries a cache holds now, and how many it ever may."""

    name: str
    entries: int
    bound: int


class HasCaches(Protocol):
    def cache_sizes(self) -> Iterable[CacheSize]:
        """The object's caches, each with its bound."""
        ...


_FUNCTIONS: list[functools._lru_cache_wrapper[Any]] = []
# Weak values, so that listing an object never keeps it alive; keyed by identity (an
# entry goes when its object does, so an id is never found for a newer object).
_OWNERS: weakref.WeakValueDictionary[int, HasCaches] = weakref.WeakValueDictionary()


def bounded(maxsize: int) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """``functools.lru_cache(maxsize=maxsize)``, listed by ``sizes()``; the arguments must be hashable."""

    def decorate(function: Callable[P, T]) -> Callable[P, T]:
        cached = functools.lru_cache(maxsize=maxsize)(function)
        _FUNCTIONS.append(cached)
        return cast(Callable[P, T], cached)

    return decorate


def track(owner: HasCaches) -> None:
    """List ``owner``'s caches in ``sizes()`` for as long as it lives."""
    _OWNERS[id(owner)] = owner


def lru_size(name: str, cache: LRUCache[Any, Any]) -> CacheSize:
    """The size of a SQLAlchemy ``LRUCache``: it prunes to its capacity once past ``size_threshold``."""
    return CacheSize(name, len(cache), int(cache.size_threshold))


def sizes() -> list[CacheSize]:
    """Every registered cache of the process, with its entries and its bound."""
    found = []
    for function in _FUNCTIONS:
        info = function.cache_info()
        if info.maxsize is None:
            raise TypeError(f"{function.__qualname__} is registered as a bounded cache but has no bound")
        found.append(CacheSize(f"{function.__module__}.{function.__qualname__}", info.currsize, info.maxsize))
    for owner in list(_OWNERS.values()):
        found.extend(owner.cache_sizes())
    return found
