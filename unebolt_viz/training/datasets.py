"""Windows and targets of ScanPairs as a torch Dataset, and batches of consecutive TRs.

UnEBOLT's temporal-correlation loss needs each batch to hold consecutive TRs of one scan, in
time order; only the order of the batches is shuffled (Li et al., "A Unified Model for
EEG-to-BOLD Translation and Functional Connectivity Reconstruction", MIDL 2026, section 2.2).
:class:`ConsecutiveBatchSampler` cuts every contiguous run of volumes into blocks of
``batch_size`` windows and shuffles the blocks with a generator seeded by ``(seed, epoch)``,
so that the order of any epoch can be rebuilt exactly when a run resumes. Under
``DistributedDataParallel`` every rank walks the same blocks and takes its own equal slice of
each (the trainer gathers the slices back to compute the loss on the whole block).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from ..conventions import canonical_channel_name
from ..data.containers import InvalidDataError
from ..preprocessing import demean_windows

__all__ = ["WindowDataset", "ConsecutiveBatchSampler", "collate_batch"]

_UNIT_TO_UV = {"uV": 1.0, "V": 1e6}


def _channel_positions(windows: Any, ch_names: Sequence[str]) -> np.ndarray:
    have = [canonical_channel_name(str(c)) for c in windows.channel.values]
    lookup = {name: i for i, name in enumerate(have)}
    wanted = [canonical_channel_name(str(c)) for c in ch_names]
    missing = [c for c in wanted if c not in lookup]
    if missing:
        raise InvalidDataError(
            f"Scan {str(windows.scan.values[0])!r} lacks the channels {missing} that the model "
            "reads; interpolate them at ingestion (missing='interpolate') or build the model on "
            "the channels the recording has (ch_names=...)."
        )
    return np.array([lookup[c] for c in wanted])


class WindowDataset(Dataset):
    """All (EEG window, BOLD target) pairs of a list of scans.

    Windows stay the strided views of the ScanPairs (no copy of the recording); a batch is cut
    out, its channels put in the model's order, each channel's whole-window mean removed
    (:func:`unebolt_viz.preprocessing.demean_windows`) and cast to float32 microvolts.

    Parameters
    ----------
    pairs : sequence of ScanPair
        The scans, each with EEG windows and BOLD targets.
    ch_names : sequence of str, optional
        Channels in the order the model reads them (default: those of the first scan).
    n_times : int, optional
        Samples per window given to the model; the first ``n_times`` samples of each window are
        kept (default: all).

    Attributes
    ----------
    segments : list of (start, length)
        Runs of consecutive volumes of one scan, as global positions.
    scans : list of str
        Scan of each pair.
    """

    def __init__(self, pairs: Sequence[Any], ch_names: Sequence[str] | None = None,
                 n_times: int | None = None) -> None:
        self.pairs = list(pairs)
        if not self.pairs:
            raise InvalidDataError("No scans given: pass at least one ScanPair.")
        first = self.pairs[0]
        self.ch_names = tuple(str(c) for c in (ch_names if ch_names is not None
                                                else first.windows.channel.values))
        self.rois = tuple(map(str, first.bold.roi.values))
        self.scans = [p.scan for p in self.pairs]
        self._windows, self._targets, self._channels, self._scale = [], [], [], []
        n_samples = []
        for pair in self.pairs:
            if tuple(map(str, pair.bold.roi.values)) != self.rois:
                raise InvalidDataError(
                    f"Scan {pair.scan!r} has different ROIs from scan {first.scan!r}; all scans "
                    "must use the same atlas in the same order."
                )
            units = pair.windows.attrs.get("units", "uV")
            if units not in _UNIT_TO_UV:
                raise InvalidDataError(f"Scan {pair.scan!r}: EEG units {units!r}, expected 'uV' or 'V'.")
            self._windows.append(pair.windows.data)
            self._targets.append(np.asarray(pair.bold.values, dtype=np.float32))
            self._channels.append(_channel_positions(pair.windows, self.ch_names))
            self._scale.append(_UNIT_TO_UV[units])
            n_samples.append(pair.windows.sizes["time"])
        self.n_times = int(min(n_samples) if n_times is None else n_times)
        short = [p.scan for p, n in zip(self.pairs, n_samples) if n < self.n_times]
        if short:
            raise InvalidDataError(
                f"Scans {short} have windows shorter than the model's {self.n_times} samples; "
                "window the EEG at 200 Hz over 16 s (unebolt_viz.io.eeg_windows_from_raw)."
            )
        lengths = np.array([p.n_windows for p in self.pairs])
        self.offsets = np.concatenate([[0], np.cumsum(lengths)])
        self.segments = []
        for k, pair in enumerate(self.pairs):
            tr_index = np.asarray(pair.bold.tr_index.values)
            breaks = np.flatnonzero(np.diff(tr_index) != 1) + 1
            starts = np.concatenate([[0], breaks])
            stops = np.concatenate([breaks, [tr_index.size]])
            self.segments += [(int(self.offsets[k] + a), int(b - a)) for a, b in zip(starts, stops)]

    def __len__(self) -> int:
        return int(self.offsets[-1])

    @property
    def n_outputs(self) -> int:
        """Number of ROIs."""
        return len(self.rois)

    def _cut(self, k: int, local: np.ndarray | slice) -> tuple[np.ndarray, np.ndarray]:
        windows = self._windows[k][local][:, self._channels[k], : self.n_times]
        x = demean_windows(windows)
        if self._scale[k] != 1.0:
            x *= self._scale[k]
        return x, self._targets[k][local]

    def get_batch(self, indices: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """Windows ``(batch, n_chans, n_times)`` and targets ``(batch, n_rois)`` as float32 tensors."""
        idx = np.asarray(indices, dtype=np.int64)
        if idx.size == 0:
            raise IndexError("empty batch")
        ks = np.searchsorted(self.offsets, idx, side="right") - 1
        xs, ys = [], []
        # group runs of the same scan so that a block of consecutive TRs is one slice
        bounds = np.flatnonzero(np.diff(ks)) + 1
        for run in np.split(np.arange(idx.size), bounds):
            k = int(ks[run[0]])
            local = idx[run] - self.offsets[k]
            if np.all(np.diff(local) == 1):
                local = slice(int(local[0]), int(local[-1]) + 1)
            x, y = self._cut(k, local)
            xs.append(x)
            ys.append(y)
        x = np.concatenate(xs) if len(xs) > 1 else xs[0]
        y = np.concatenate(ys) if len(ys) > 1 else ys[0]
        return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(np.ascontiguousarray(y))

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self.get_batch([index])
        return x[0], y[0]

    def __getitems__(self, indices: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        return self.get_batch(indices)

    def scan_windows(self, k: int, start: int = 0, stop: int | None = None) -> torch.Tensor:
        """Demeaned windows of scan ``k`` (positions ``start:stop``), for inference."""
        x, _ = self._cut(k, slice(start, stop))
        return torch.from_numpy(np.ascontiguousarray(x))


def collate_batch(batch: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """The DataLoader's collate function: a batch from ``__getitems__`` is already stacked."""
    return batch


class ConsecutiveBatchSampler(Sampler):
    """Blocks of consecutive windows, shuffled per epoch, optionally split across ranks.

    Every segment (run of consecutive volumes of one scan) is cut into blocks of
    ``batch_size`` windows from its start; a shorter last block is kept when it has at least
    ``min_batch`` windows (the correlation losses need two), trimmed to a multiple of
    ``world_size``. The list of blocks is shuffled with
    ``numpy.random.default_rng([seed, epoch])``.

    Parameters
    ----------
    segments : list of (start, length)
        From :attr:`WindowDataset.segments`.
    batch_size : int
        Windows per block: the *global* batch (all ranks together).
    shuffle : bool
        Shuffle the order of blocks (never the windows within a block).
    seed : int
        Seed of the shuffling.
    rank, world_size : int
        This process's share: slice ``rank`` of ``world_size`` equal slices of every block.
    min_batch : int
        Smallest block kept.
    drop_last : bool
        Drop every block shorter than ``batch_size``.
    """

    def __init__(self, segments: Sequence[tuple[int, int]], batch_size: int, *, shuffle: bool = True,
                 seed: int = 0, rank: int = 0, world_size: int = 1, min_batch: int = 2,
                 drop_last: bool = False) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size={batch_size} must be >= 1.")
        if batch_size % world_size:
            raise ValueError(
                f"The global batch size {batch_size} must be a multiple of the number of "
                f"processes ({world_size}); each takes an equal slice of every block."
            )
        if not 0 <= rank < world_size:
            raise ValueError(f"rank={rank} is outside 0..{world_size - 1}.")
        self.segments = [(int(a), int(n)) for a, n in segments]
        self.batch_size, self.shuffle, self.seed = int(batch_size), bool(shuffle), int(seed)
        self.rank, self.world_size = int(rank), int(world_size)
        self.min_batch = max(int(min_batch), self.world_size)
        self.drop_last = bool(drop_last)
        self.epoch = 0
        self.start = 0
        self._blocks = self._make_blocks()
        if not self._blocks:
            raise InvalidDataError(
                f"No block of at least {self.min_batch} consecutive windows: the scans are too "
                f"short for batch_size={batch_size}."
            )

    def _make_blocks(self) -> list[tuple[int, int]]:
        blocks = []
        for start, length in self.segments:
            for a in range(0, length, self.batch_size):
                n = min(self.batch_size, length - a)
                n -= n % self.world_size
                if n == self.batch_size or (not self.drop_last and n >= self.min_batch):
                    blocks.append((start + a, n))
        return blocks

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        """Use the order of ``epoch`` and begin at its block ``start`` (to resume)."""
        self.epoch, self.start = int(epoch), int(start)

    def blocks(self, epoch: int | None = None) -> list[tuple[int, int]]:
        """The (start, length) blocks of an epoch in the order they are served."""
        epoch = self.epoch if epoch is None else epoch
        if not self.shuffle:
            return list(self._blocks)
        order = np.random.default_rng([self.seed, int(epoch)]).permutation(len(self._blocks))
        return [self._blocks[i] for i in order]

    def __iter__(self) -> Iterator[list[int]]:
        for start, n in self.blocks()[self.start:]:
            share = n // self.world_size
            a = start + self.rank * share
            yield list(range(a, a + share))

    def __len__(self) -> int:
        return len(self._blocks) - self.start

    @property
    def n_blocks(self) -> int:
        """Blocks per epoch."""
        return len(self._blocks)
