"""Model sizes: the paper's, a compact one for CPU teaching, and a tiny one for unit tests.

``paper`` is the full size of the authors' code (LaBraM-base width 200 and 12 blocks; spectral
branch of 4 linear-attention layers; RRE bottleneck 128; BIOT width 256). ``compact`` trains in
a few minutes on two CPU cores for about a thousand windows; ``tiny`` runs in well under a second.
Every entry can be overridden by name in :func:`unebolt_viz.models.build_model`.

The width is a multiple of 25 because the patch encoder turns a 1-s patch into 25 time steps
times ``embed_dim / 25`` conv channels (LaBraM: 25 x 8 = 200), with no extra projection; the
compact size therefore uses width 50 (2 conv channels) rather than a power of two. Measured on
one CPU thread, a training step of 16 windows with 64 ROIs costs about 0.5 s for ``compact``
(about 30 s per epoch of 1000 windows), 0.2 s for ``tiny`` and tens of seconds for ``paper``.
"""

from __future__ import annotations

from typing import Any

from .volumetric_presets import VOLUMETRIC_NAMES, volumetric_hparams

PRESETS: tuple[str, ...] = ("paper", "compact", "tiny")

#: Every model :func:`unebolt_viz.models.build_model` can build, by name.
MODEL_NAMES: tuple[str, ...] = (
    "unebolt", "neurobolt", "neurobolt_unified", "biot_unified", "labram_unified",
    "st_transformer_unified", "cnn_transformer_unified", "ffcl_unified", "beira_unified",
)  # fmt: skip

#: The volumetric peers E2fNet and Spec2VolCAMU-Net, also built by ``build_model``. Kept out of
#: MODEL_NAMES, whose models all map EEG windows to ROI values: these map spectra to volumes
#: (see :mod:`unebolt_viz.models.volumetric_base`; sizes in ``volumetric_presets``).
VOLUMETRIC_MODEL_NAMES: tuple[str, ...] = VOLUMETRIC_NAMES

#: Spatiotemporal (LaBraM) branch. ``embed_dim`` is shared with the spectral branch, which
#: must have the same width for the fusion; it must be a multiple of 25.
_SPATIOTEMPORAL = {
    "paper": dict(embed_dim=200, st_depth=12, st_heads=10),
    "compact": dict(embed_dim=50, st_depth=2, st_heads=2),
    "tiny": dict(embed_dim=25, st_depth=1, st_heads=1),
}
_SPATIOTEMPORAL_COMMON = dict(
    mlp_ratio=4.0, drop_rate=0.1, attn_drop_rate=0.0, drop_path_rate=0.1, layer_scale_init=0.1
)

_SPECTRAL = {
    "paper": dict(sp_depth=4, sp_heads=8),
    "compact": dict(sp_depth=2, sp_heads=2),
    "tiny": dict(sp_depth=1, sp_heads=1),
}
_SPECTRAL_COMMON = dict(
    sp_levels=4, sp_base_window=100, sp_ff_mult=4, sp_attn_dropout=0.2, sp_pe_dropout=0.1
)

#: UnEBOLT's decoder. ``gaf_hidden=None`` means the encoder width; ``roi_embed_dim=None``
#: means the number of ROIs (d_r = P, as in the paper).
_UNEBOLT = {
    "paper": dict(rre_bottleneck=128),
    "compact": dict(rre_bottleneck=32),
    "tiny": dict(rre_bottleneck=8),
}
_UNEBOLT_COMMON = dict(
    gaf_hidden=None,
    roi_embed_dim=None,
    rre_dropout=0.1,
    rre_alpha_init=0.1,
    use_gaf=True,
    use_roi_lut=True,
    use_roi_embedder=True,
    use_roi_specific_head=True,
)

_BIOT = {
    "paper": dict(biot_embed_dim=256, biot_depth=4, biot_heads=8),
    "compact": dict(biot_embed_dim=64, biot_depth=2, biot_heads=4),
    "tiny": dict(biot_embed_dim=16, biot_depth=1, biot_heads=2),
}
_BIOT_COMMON = dict(
    biot_n_fft=200, biot_hop=100, biot_ff_mult=4, sp_attn_dropout=0.2, sp_pe_dropout=0.1
)

#: The other Table 1 baselines (see :mod:`unebolt_viz.models.table1_baselines`). ``paper`` is
#: the size of the public code each is rebuilt from; ``drop_rate`` is each model's main dropout.
_ST_TRANSFORMER = {
    "paper": dict(stt_embed_dim=256, stt_depth=3, stt_heads=8, stt_conv_channels=64),
    "compact": dict(stt_embed_dim=64, stt_depth=2, stt_heads=4, stt_conv_channels=16),
    "tiny": dict(stt_embed_dim=16, stt_depth=1, stt_heads=2, stt_conv_channels=4),
}
_ST_TRANSFORMER_COMMON = dict(
    stt_ff_mult=4, stt_kernel=15, stt_stride=8, stt_pool=100, stt_channel_dropout=0.3,
    drop_rate=0.5,
)
#: Spectrogram CNN of CNN-Transformer and FFCL: block widths ``cnn_width * (1, 2, 4, 8)``.
_SPECTROGRAM_CNN = {"paper": dict(cnn_width=32), "compact": dict(cnn_width=8),
                    "tiny": dict(cnn_width=2)}  # fmt: skip
_SPECTROGRAM_CNN_COMMON = dict(n_fft=200, hop=10, cnn_dropout=0.5)
_CNN_TRANSFORMER = {
    "paper": dict(cnnt_depth=4, cnnt_heads=4, cnnt_ff=256),
    "compact": dict(cnnt_depth=2, cnnt_heads=4, cnnt_ff=64),
    "tiny": dict(cnnt_depth=1, cnnt_heads=2, cnnt_ff=16),
}
_CNN_TRANSFORMER_COMMON = dict(cnnt_segment=200, cnnt_pe_dropout=0.1, drop_rate=0.2)
_FFCL = {"paper": dict(ffcl_lstm_hidden=256), "compact": dict(ffcl_lstm_hidden=64),
         "tiny": dict(ffcl_lstm_hidden=8)}  # fmt: skip
_FFCL_COMMON = dict(ffcl_lstm_layers=2, ffcl_shrink=20, drop_rate=0.5)
_BEIRA = {
    "paper": dict(beira_hidden=16, beira_channels=128),
    "compact": dict(beira_hidden=8, beira_channels=32),
    "tiny": dict(beira_hidden=4, beira_channels=8),
}
_BEIRA_COMMON = dict(beira_filter=51, beira_envelope=51, drop_rate=0.3)

_HEAD = dict(head_init_scale=0.001)


def preset_hparams(model_name: str, preset: str) -> dict[str, Any]:
    """The full hyperparameter dict of ``model_name`` at size ``preset``.

    Parameters
    ----------
    model_name : str
        One of ``MODEL_NAMES``.
    preset : str
        One of :data:`PRESETS`.

    Returns
    -------
    dict
        A fresh dict (safe to modify).
    """
    if preset not in PRESETS:
        raise ValueError(f"Unknown preset {preset!r}; choose one of {PRESETS}")
    if model_name in VOLUMETRIC_MODEL_NAMES:
        return volumetric_hparams(model_name, preset)
    spatiotemporal = {**_SPATIOTEMPORAL[preset], **_SPATIOTEMPORAL_COMMON}
    spectral = {**_SPECTRAL[preset], **_SPECTRAL_COMMON}
    tables: dict[str, dict[str, Any]] = {
        "unebolt": {**spatiotemporal, **spectral, **_UNEBOLT[preset], **_UNEBOLT_COMMON, **_HEAD},
        "neurobolt": {**spatiotemporal, **spectral, **_HEAD},
        "neurobolt_unified": {**spatiotemporal, **spectral, **_HEAD},
        "labram_unified": {**spatiotemporal, **_HEAD},
        "biot_unified": {**_BIOT[preset], **_BIOT_COMMON},
        "st_transformer_unified": {**_ST_TRANSFORMER[preset], **_ST_TRANSFORMER_COMMON},
        "cnn_transformer_unified": {**_SPECTROGRAM_CNN[preset], **_SPECTROGRAM_CNN_COMMON,
                                    **_CNN_TRANSFORMER[preset], **_CNN_TRANSFORMER_COMMON},
        "ffcl_unified": {**_SPECTROGRAM_CNN[preset], **_SPECTROGRAM_CNN_COMMON, **_FFCL[preset],
                         **_FFCL_COMMON},
        "beira_unified": {**_BEIRA[preset], **_BEIRA_COMMON},
    }
    if model_name not in tables:
        raise ValueError(f"Unknown model {model_name!r}; choose one of {tuple(tables)}")
    return dict(tables[model_name])
