"""Pretrained LaBraM-base weights for the spatiotemporal branch, from either published layout.

Two layouts are read (the layout is recognised from the key names):

``"labram"``, the LaBraM authors' checkpoint (``labram-base.pth``, from the GitHub repository
``935963004/LaBraM``)
    A ``torch.save`` dict whose ``"model"`` entry holds the pre-training model: the encoder
    under ``student.`` (our names, e.g. ``student.blocks.3.attn.qkv.weight``), beside the
    pre-training parts ``student.mask_token``, ``student.norm.*``, ``student.lm_head.*``,
    ``lm_head.*`` and ``projection_head.0.*``, which are dropped. A fine-tuned LaBraM
    (``"model"`` without the ``student.`` prefix) is read too, its task ``head.*`` dropped.
``"braindecode"``, braindecode's ``Labram`` model (e.g. the Hugging Face repository
``braindecode/labram-pretrained``; ``.safetensors`` or a ``torch.save`` state dict)
    A flat state dict whose names were read from braindecode's source (``models/labram.py``
    and ``modules/blocks.py`` of braindecode 1.2, checked against its current source):
    ``patch_embed.temporal_conv.{conv,norm}{1,2,3}.*`` -> ``patch_embed.{conv,norm}{1,2,3}.*``;
    ``position_embedding`` (1, 129, 200) -> ``pos_embed``; ``temporal_embedding``
    (1, n_patches + 1, 200) -> ``time_embed`` (its first 16 rows; braindecode's current code
    reads rows 0..n-1, its last row is spare); ``blocks.<k>.mlp.0`` / ``mlp.2`` ->
    ``blocks.<k>.mlp.fc1`` / ``fc2``; every other block, ``cls_token`` and ``fc_norm`` name is
    ours. Its task head ``final_layer.*`` is dropped. A braindecode model built without
    LaBraM-base's q/k norms and layer scale (``qk_norm=None``, ``init_values=None``) or with a
    learned patcher (``patch_embed.segment_patch.patcher.*``) is not LaBraM-base and is refused.

In both layouts ``fc_norm`` may be missing (a pre-training checkpoint has none; it then keeps
its fresh initialisation, as in LaBraM's own fine-tuning) and every ``relative_position_index``
buffer is dropped (recomputed, never learned). Any other missing or extra key, or a shape that
differs from the branch's, raises a ValueError naming it: a non-strict load that skips what it
does not know would leave a "pretrained" branch partly random. The head and the spectral branch
of the model are never in such a file and keep their initialisation.

Files are read with ``torch.load(weights_only=True)`` or safetensors; nothing is unpickled.
"""

from __future__ import annotations

import fnmatch
import os
import pickle
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .._utils import atomic_path
from ._files import file_sha256

__all__ = ["LabramLoadReport", "load_labram_checkpoint", "read_labram_state",
           "save_labram_checkpoint", "LABRAM_LAYOUTS", "ALLOWED_UNEXPECTED", "ALLOWED_MISSING"]

LABRAM_LAYOUTS = ("labram", "braindecode")
#: Keys a file may hold that the branch does not take (dropped and reported), per layout, as
#: ``fnmatch`` patterns on the file's own names.
ALLOWED_UNEXPECTED: dict[str, tuple[str, ...]] = {
    "labram": ("student.mask_token", "student.norm.weight", "student.norm.bias",
               "student.lm_head.weight", "student.lm_head.bias", "lm_head.weight", "lm_head.bias",
               "projection_head.0.weight", "projection_head.0.bias", "head.weight", "head.bias",
               "*relative_position_index"),
    "braindecode": ("final_layer.weight", "final_layer.bias", "*relative_position_index"),
}
#: Keys of the branch a file may lack (they keep their initialisation), in our names.
ALLOWED_MISSING: tuple[str, ...] = ("fc_norm.weight", "fc_norm.bias")
#: The rows of the branch's time embedding (16 one-second patches).
_TIME_KEY, _BD_TIME_KEY = "time_embed", "temporal_embedding"
_BD_RENAMES = (
    (re.compile(r"^patch_embed\.temporal_conv\."), "patch_embed."),
    (re.compile(r"^position_embedding$"), "pos_embed"),
    (re.compile(r"^temporal_embedding$"), _TIME_KEY),
    (re.compile(r"^(blocks\.\d+\.mlp)\.0\."), r"\1.fc1."),
    (re.compile(r"^(blocks\.\d+\.mlp)\.2\."), r"\1.fc2."),
)
_BD_SIGNATURE = ("position_embedding", "temporal_embedding", "patch_embed.temporal_conv.")


@dataclass(frozen=True)
class LabramLoadReport:
    """What :func:`load_labram_checkpoint` did.

    Attributes
    ----------
    path : str
        The weights file.
    sha256 : str
        Its sha256 (64 hex digits).
    layout : {"labram", "braindecode"}
        The layout it was read as.
    loaded : list of str
        Branch keys (our names) set from the file.
    ignored : list of str
        File keys (its names) dropped by the allow-list.
    initialised : list of str
        Branch keys the file lacks, left at their initialisation.
    n_branches : int
        Spatiotemporal branches loaded (one per network of a ROI-specific NeuroBOLT).
    """

    path: str
    sha256: str
    layout: str
    loaded: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    initialised: list[str] = field(default_factory=list)
    n_branches: int = 1

    def __getitem__(self, key: str) -> Any:
        """``report["loaded"]`` as well as ``report.loaded``."""
        return getattr(self, key)

    def as_record(self) -> dict[str, Any]:
        """The JSON record a model keeps in its config (``labram_init``)."""
        return {"pretrained": True, "file": Path(self.path).name, "sha256": self.sha256,
                "layout": self.layout, "n_loaded": len(self.loaded),
                "initialised": list(self.initialised)}

    def to_dict(self) -> dict[str, Any]:
        """Every field, JSON-friendly."""
        return asdict(self)


def _refuse(path: Any, problem: str, fix: str) -> ValueError:
    return ValueError(f"Cannot load the LaBraM weights {path}: {problem}. {fix}")


def _read_file(path: Path) -> dict[str, torch.Tensor]:
    """The flat tensor mapping of a weights file (a ``"model"`` entry is unwrapped)."""
    if not path.is_file():
        raise FileNotFoundError(f"No LaBraM weights file at {path}; download labram-base.pth "
                                "(LaBraM's GitHub repository) or braindecode's labram-pretrained.")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return dict(load_file(str(path)))
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        found = re.search(r"GLOBAL ([\w.]+)", str(err))
        what = found.group(1) if found else str(err).strip().splitlines()[-1]
        raise _refuse(path, f"it holds a pickled Python object ({what}), which is never "
                      "unpickled here (unpickling can run code)",
                      _strip_fix(what)) from None
    if isinstance(payload, Mapping) and isinstance(payload.get("model"), Mapping):
        payload = payload["model"]
    elif not (isinstance(payload, Mapping) and payload
              and all(isinstance(v, torch.Tensor) for v in payload.values())):
        raise _refuse(path, "expected a dict with a 'model' entry (LaBraM) or a flat state dict "
                      "of tensors (braindecode)", "Pass labram-base.pth or a Labram state dict.")
    bad = sorted(k for k, v in payload.items() if not isinstance(v, torch.Tensor))
    if bad:
        raise _refuse(path, f"the entries {bad} are not tensors", "Keep only tensors in it.")
    return dict(payload)


def _detect_layout(raw: Mapping[str, torch.Tensor], path: Any) -> str:
    if any(k.startswith("student.") for k in raw):
        return "labram"
    if any(k.startswith(_BD_SIGNATURE) for k in raw):
        return "braindecode"
    if "pos_embed" in raw or "time_embed" in raw:
        return "labram"
    raise _refuse(path, "its keys are neither LaBraM's ('student.'-prefixed, pos_embed, "
                  "time_embed) nor braindecode's Labram's (position_embedding, ...): "
                  f"first keys {sorted(raw)[:5]}", "Pass labram-base.pth or a Labram state dict.")


def _rename(layout: str, raw: Mapping[str, torch.Tensor]) -> dict[str, tuple[str, torch.Tensor]]:
    """``{our name: (file name, tensor)}`` of the keys not matched by the allow-list."""
    out = {}
    has_student = any(k.startswith("student.") for k in raw)
    for key, value in raw.items():
        if any(fnmatch.fnmatchcase(key, p) for p in ALLOWED_UNEXPECTED[layout]):
            continue
        name = key
        if layout == "labram":
            name = key[len("student."):] if has_student and key.startswith("student.") else key
            if has_student and not key.startswith("student."):
                name = "\0" + key  # a non-student key not on the allow-list: unexpected
        else:
            for pattern, repl in _BD_RENAMES:
                name = pattern.sub(repl, name)
        out[name] = (key, value)
    return out


def read_labram_state(
    path: str | os.PathLike, expected: Mapping[str, torch.Tensor], layout: str = "auto"
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The state dict for a branch with the keys and shapes of ``expected``, from a file.

    Parameters
    ----------
    path : str or PathLike
        A LaBraM (``.pth``) or braindecode (``.safetensors``, ``.pt``, ``.bin``) weights file.
    expected : mapping
        The branch's ``state_dict()`` (names and shapes to match).
    layout : {"auto", "labram", "braindecode"}
        Read as this layout (default: recognised from the key names).

    Returns
    -------
    state : dict
        One tensor per key of ``expected`` (``fc_norm`` from ``expected`` when the file lacks it).
    info : dict
        ``layout``, ``loaded``, ``ignored``, ``initialised``.

    Raises
    ------
    ValueError
        A key that is neither the branch's nor on the allow-list, a missing key, a wrong shape,
        a pickled object or an unknown layout; the message names them.
    """
    path = Path(path)
    raw = _read_file(path)
    if layout == "auto":
        layout = _detect_layout(raw, path)
    elif layout not in LABRAM_LAYOUTS:
        raise ValueError(f"layout={layout!r}; use 'auto', 'labram' or 'braindecode'.")
    renamed = _rename(layout, raw)
    ignored = sorted(set(raw) - {file_key for file_key, _ in renamed.values()})
    if _TIME_KEY in renamed and _TIME_KEY in expected:
        file_key, value = renamed[_TIME_KEY]
        rows = expected[_TIME_KEY].shape[1]
        if value.ndim == 3 and value.shape[1] > rows and layout == "braindecode":
            ignored.append(f"{file_key}[:, {rows}:] (spare rows)")
            renamed[_TIME_KEY] = (file_key, value[:, :rows])
    unexpected = sorted(renamed[k][0] for k in renamed if k not in expected)
    missing = sorted(k for k in expected if k not in renamed and k not in ALLOWED_MISSING)
    shapes = [f"{renamed[k][0]}: file {tuple(renamed[k][1].shape)}, branch "
              f"{tuple(expected[k].shape)} ({k})"
              for k in expected if k in renamed and renamed[k][1].shape != expected[k].shape]
    problems = ([f"unexpected key(s): {', '.join(unexpected)}"] if unexpected else []) + (
        [f"missing key(s): {', '.join(missing)}"] if missing else []) + (
        [f"shape mismatch: {'; '.join(shapes)}"] if shapes else [])
    if problems:
        raise _refuse(path, f"read as the {layout!r} layout, " + " | ".join(problems),
                      "The file is not LaBraM-base weights for this branch (LaBraM-base needs "
                      "the 'paper' preset: width 200, 12 blocks, 10 heads, q/k norms, layer "
                      "scale); allowed extras: " + ", ".join(ALLOWED_UNEXPECTED[layout]) + ".")
    initialised = sorted(k for k in expected if k not in renamed)
    state = {k: (renamed[k][1] if k in renamed else expected[k]) for k in expected}
    return state, {"layout": layout, "loaded": sorted(k for k in expected if k in renamed),
                   "ignored": sorted(ignored), "initialised": initialised}


def _branches(model_or_branch: nn.Module) -> list[nn.Module]:
    from .labram import SpatiotemporalEncoder

    if isinstance(model_or_branch, SpatiotemporalEncoder):
        return [model_or_branch]
    branches = [m for m in model_or_branch.modules() if isinstance(m, SpatiotemporalEncoder)]
    if not branches:
        raise ValueError(f"{type(model_or_branch).__name__} has no spatiotemporal (LaBraM) "
                         "branch to load LaBraM weights into.")
    return branches


def load_labram_checkpoint(
    model_or_branch: nn.Module, path: str | os.PathLike, layout: str = "auto"
) -> LabramLoadReport:
    """Load pretrained LaBraM weights into the spatiotemporal branch(es) of a model.

    Parameters
    ----------
    model_or_branch : torch.nn.Module
        A model with a LaBraM branch (UnEBOLT, the NeuroBOLTs, the LaBraM baseline; a
        ROI-specific NeuroBOLT loads the same weights into every network) or the branch.
    path : str or PathLike
        ``labram-base.pth`` (LaBraM's layout) or braindecode's ``Labram`` weights (see the
        module docstring for both layouts and their allow-lists).
    layout : {"auto", "labram", "braindecode"}
        The file's layout (default: recognised from its key names).

    Returns
    -------
    LabramLoadReport
        The file's sha256 and layout, the keys loaded, dropped and left initialised. A model
        of :mod:`unebolt_viz.models` also keeps :meth:`LabramLoadReport.as_record` as its
        ``labram_init`` (saved in its config).

    Raises
    ------
    ValueError
        Naming missing, unexpected or mis-shaped keys, or a pickled object in the file.
    """
    branches = _branches(model_or_branch)
    state, info = read_labram_state(path, branches[0].state_dict(), layout)
    for branch in branches:
        if set(branch.state_dict()) != set(state):  # pragma: no cover - same class, same keys
            raise ValueError("the spatiotemporal branches of this model differ in size")
        branch.load_state_dict(state, strict=True)
    report = LabramLoadReport(path=str(path), sha256=file_sha256(path), n_branches=len(branches),
                              **info)
    if hasattr(model_or_branch, "labram_init"):
        model_or_branch.labram_init = report.as_record()
    return report


def save_labram_checkpoint(model_or_branch: nn.Module, path: str | os.PathLike) -> Path:
    """Write the spatiotemporal branch in LaBraM's format: ``{"model": {"student.<key>": ...}}``.

    The inverse of :func:`load_labram_checkpoint` for a fine-tuned branch (the model must have
    exactly one); written atomically with ``torch.save`` (tensors only, so
    ``weights_only=True`` loading works).
    """
    branches = _branches(model_or_branch)
    if len(branches) != 1:
        raise ValueError(
            f"{type(model_or_branch).__name__} has {len(branches)} spatiotemporal branches; "
            "pass the branch itself (e.g. model.nets[i].encoder.spatiotemporal)")
    payload = {"model": {f"student.{k}": v.detach().cpu()
                         for k, v in branches[0].state_dict().items()}}
    target = Path(path)
    with atomic_path(target) as tmp:
        torch.save(payload, tmp)
    return target


def _strip_fix(what: str) -> str:
    """How to keep only a file's tensors while allowing just the one named class to load."""
    module, _, name = what.rpartition(".")
    if not module or not name.isidentifier():
        return ("Save the file's weights again as tensors only (a dict of tensors under "
                "'model'), or as safetensors, and pass that file.")
    return ("If you trust the file, keep only its tensors once, allowing just that class: "
            f"python -c \"import torch, {module}; "
            f"from torch.serialization import safe_globals; "
            f"ctx = safe_globals([{module}.{name}]); ctx.__enter__(); "
            "c = torch.load('IN', weights_only=True); torch.save({'model': c['model']}, 'OUT')\" "
            "and pass OUT.")
