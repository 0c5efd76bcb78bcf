"""Run a trained model on a subset of its channels (e.g. another cap's 23 shared channels)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..conventions import canonical_channel_name
from .factory import model_from_config
from .io import load_state_dict_strict

#: State-dict key endings of per-channel tables indexed by the model's own channel order.
_CHANNEL_TABLES = ("spectral.channel_embed.weight", "encoder.channel_embed.weight")
_CHANNEL_INDEX = "spectral.index"


def select_channels(model: nn.Module, ch_names: Sequence[str]) -> nn.Module:
    """A copy of ``model`` that reads only ``ch_names``, keeping every trained weight.

    The spatiotemporal branch looks channels up in LaBraM's 129-row table, which is kept whole;
    tables sized by the model's own channels (the spectral and BIOT channel embeddings, and the
    tensors a model lists in ``input_channel_axes``) keep the slices of the selected channels,
    in the new order. This is how a model trained on the 26
    channels of the resting-state cap runs on the channels another cap shares with it.

    Parameters
    ----------
    model : torch.nn.Module
        A model of :mod:`unebolt_viz.models`.
    ch_names : sequence of str
        Channels of the new input, in its order; each must be one of ``model.ch_names``.

    Returns
    -------
    torch.nn.Module
        A new model (same class and hyperparameters) in the mode of ``model``.
    """
    wanted = [canonical_channel_name(str(c)) for c in ch_names]
    missing = [orig for orig, name in zip(ch_names, wanted) if name not in model.ch_names]
    if missing:
        raise ValueError(
            f"Channel(s) {missing} are not among the model's channels {list(model.ch_names)}; "
            "a trained model can only be restricted to channels it was trained on"
        )
    rows = torch.tensor([model.ch_names.index(name) for name in wanted])
    config = dict(model.get_config(), ch_names=wanted)
    new = model_from_config(config)
    state = {}
    for key, value in model.state_dict().items():
        if key.endswith(_CHANNEL_TABLES):
            value = value[rows]
        elif key.endswith(_CHANNEL_INDEX):
            value = torch.arange(len(wanted), dtype=value.dtype)
        # Layers sized by the input channels (e.g. a first convolution over electrodes) name
        # the axes that index channels; those keep the selected channels' slices.
        for axis in getattr(model, "input_channel_axes", {}).get(key, ()):
            value = value.index_select(axis, rows)
        state[key] = value
    load_state_dict_strict(new, state, source="channel selection")
    device = next(model.parameters()).device
    return new.to(device).train(model.training)
