"""Sizes of the volumetric peers, E2fNet and Spec2VolCAMU-Net (no torch import).

``paper`` is the size of the authors' code: 19.15 M parameters for E2fNet and 45.93 M for
Spec2VolCAMU-Net at D = 30 slices. ``compact`` is a small size for CPU teaching runs and
``tiny`` a very small one for unit tests. Every entry can be overridden by name in
:func:`unebolt_viz.models.build_model`. Sequences are lists, so that a model's config
survives a JSON round trip unchanged.

E2fNet ("From Brainwaves to Brain Scans: A Robust Neural Network for EEG-to-fMRI Synthesis"):
``enc_channels`` are the three convolutions before the last one (to ``width`` channels),
``width`` the U-Net's channels (256), ``dec_channels`` the decoder's convolutions before the
one to D slices, ``attention_head_dim`` the head size of the U-Net's middle self-attention and
``norm_groups`` its GroupNorm groups.

Spec2VolCAMU-Net ("Spec2VolCAMU-Net: A Spectrogram-to-Volume Model for EEG-to-fMRI
Reconstruction based on Multi-directional Time-Frequency Convolutional Attention Encoder and
Vision-Mamba U-Net"): ``enc_width``, ``enc_heads`` and ``enc_branch_channels`` size the
encoder; ``dims``, ``depths`` and ``depths_decoder`` the VM-UNet stages, ``d_state`` and
``ssm_expand`` its selective scans, ``drop_path_rate`` its stochastic depth; ``scan_backend``
chooses the scan (``"auto"``: the ``mamba_ssm`` CUDA kernel on a GPU when installed, the pure
PyTorch scan otherwise).
"""

from __future__ import annotations

from typing import Any

#: The volumetric models, by name (their forward maps spectra to volumes, not ROI values).
VOLUMETRIC_NAMES: tuple[str, ...] = ("e2fnet", "spec2volcamunet")

_E2FNET: dict[str, dict[str, Any]] = {
    "paper": dict(enc_channels=[32, 64, 128], width=256, dec_channels=[128, 64, 32],
                  norm_groups=32),
    "compact": dict(enc_channels=[16, 32, 64], width=64, dec_channels=[32, 16, 16],
                    norm_groups=16),
    "tiny": dict(enc_channels=[4, 8, 8], width=16, dec_channels=[8, 8, 8], norm_groups=4),
}
_E2FNET_COMMON: dict[str, Any] = dict(attention_head_dim=8)

_SPEC2VOL: dict[str, dict[str, Any]] = {
    "paper": dict(enc_width=256, enc_heads=8, enc_branch_channels=32, dims=[96, 192, 384, 768],
                  depths=[2, 2, 9, 2], depths_decoder=[2, 9, 2, 2], d_state=16),
    "compact": dict(enc_width=64, enc_heads=4, enc_branch_channels=16, dims=[32, 64, 128, 256],
                    depths=[1, 1, 2, 1], depths_decoder=[1, 2, 1, 1], d_state=16),
    "tiny": dict(enc_width=16, enc_heads=2, enc_branch_channels=8, dims=[8, 16, 32, 64],
                 depths=[1, 1, 1, 1], depths_decoder=[1, 1, 1, 1], d_state=4),
}
_SPEC2VOL_COMMON: dict[str, Any] = dict(
    ssm_expand=2, drop_path_rate=0.2, patch_size=4, scan_backend="auto"
)


def volumetric_hparams(model_name: str, preset: str) -> dict[str, Any]:
    """The full hyperparameter dict of a volumetric model at size ``preset`` (a fresh copy).

    Parameters
    ----------
    model_name : str
        One of :data:`VOLUMETRIC_NAMES`.
    preset : str
        ``"paper"``, ``"compact"`` or ``"tiny"``.

    Returns
    -------
    dict
        Lists are copied too, so the result is safe to modify.
    """
    tables = {"e2fnet": (_E2FNET, _E2FNET_COMMON), "spec2volcamunet": (_SPEC2VOL, _SPEC2VOL_COMMON)}
    if model_name not in tables:
        raise ValueError(f"Unknown volumetric model {model_name!r}; choose one of {VOLUMETRIC_NAMES}")
    sizes, common = tables[model_name]
    if preset not in sizes:
        raise ValueError(f"Unknown preset {preset!r}; choose one of {tuple(sizes)}")
    merged = {**sizes[preset], **common}
    return {k: list(v) if isinstance(v, list) else v for k, v in merged.items()}
