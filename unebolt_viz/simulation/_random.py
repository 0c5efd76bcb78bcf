"""Seeding: every scan, subject and component draws from its own reproducible stream."""

from __future__ import annotations

import zlib

import numpy as np


def rng_for(seed: int, *key: int | str) -> np.random.Generator:
    """A generator determined by ``seed`` and a key path, e.g. ``(condition, subject, "eeg")``.

    Built from :class:`numpy.random.SeedSequence` with the key as its ``spawn_key``, so that
    streams of different keys are independent and any scan can be generated alone, in any
    order, with the same result.
    """
    spawn_key = tuple(k if isinstance(k, int) else zlib.crc32(str(k).encode()) for k in key)
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=spawn_key))
