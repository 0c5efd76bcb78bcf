"""The nine baselines of UnEBOLT's Table 1: which ones the package builds, and which it omits.

The UnEBOLT paper (Table 1, unseen-subject prediction at P = 64) compares against nine models,
each made "unified" by mapping its last layer to all P ROIs. This module is the catalogue (it
imports no torch); the architectures live in :mod:`unebolt_viz.models.baselines` (NeuroBOLT,
BIOT, LaBraM), :mod:`unebolt_viz.models.table1_temporal` (ST-Transformer, BEIRA) and
:mod:`unebolt_viz.models.table1_spectrogram` (CNN-Transformer, FFCL).

Public sources of the reconstructed architectures (facts only; no code was copied):

- ST-Transformer: Y. Song, X. Jia, L. Yang, L. Xie, "Transformer-based spatial-temporal feature
  learning for EEG decoding", arXiv:2106.11170 (2021), in the form of the baseline collection of
  the BIOT repository (github.com/ycq091044/BIOT, ``model/st_transformer.py``), which BIOT and
  LaBraM benchmark and whose codebase NeuroBOLT builds on.
- CNN-Transformer: W. Y. Peh, Y. Yao, J. Dauwels, "Transformer convolutional neural networks for
  automated artifact detection in scalp EEG", IEEE EMBC 2022, pp. 3599-3602; layer sizes from
  the same BIOT repository (``model/cnn_transformer.py``).
- FFCL: H. Li, M. Ding, R. Zhang, C. Xiu, "Motor imagery EEG classification algorithm based on
  CNN-LSTM feature fusion network", Biomedical Signal Processing and Control 72:103342 (2022);
  layer sizes from the BIOT repository (``model/ffcl.py``).
- BEIRA: A. Kovalev, I. Mikheev, A. Ossadtchi, "fMRI from EEG is only deep learning away: the use
  of interpretable DL to unravel EEG-fMRI relationships", arXiv:2211.02024 (2022); layer sizes
  from the authors' repository (github.com/kovalalvi/beira, ``utils/models_arch/
  autoencoder_new_Artur.py`` and the configuration of ``notebook_clean/BEIRA_ALL_IN_ONE.ipynb``).

braindecode (whose model contract ours follows) cannot be used here: its model code imports
torchaudio, which does not load against the torch this package pins, and in any case braindecode
has none of these five architectures (its ``EEGConformer``, Song et al. 2022, is a different
model from the 2021 ST-Transformer).
"""

from __future__ import annotations

#: Every baseline of Table 1 (unseen-subject section), in the paper's row order:
#: ``(label, citation, model name)``; the name is ``None`` for an omitted baseline.
TABLE1_BASELINES: tuple[tuple[str, str, str | None], ...] = (
    ("ST-Transformer", "Song et al., 2021", "st_transformer_unified"),
    ("CNN-Transformer", "Peh et al., 2022", "cnn_transformer_unified"),
    ("FFCL", "Li et al., 2022", "ffcl_unified"),
    ("BIOT", "Yang et al., 2023", "biot_unified"),
    ("LaBraM", "Jiang et al., 2024", "labram_unified"),
    ("BEIRA", "Kovalev et al., 2022", "beira_unified"),
    ("Li et al.", "Li et al., 2024a", None),
    ("NeuroBOLT", "Li et al., 2024b", "neurobolt_unified"),
)

#: Table 1 baselines the package does not build, with the reason: ``{label: reason}``.
OMITTED_BASELINES: dict[str, str] = {
    "Li et al. (Li et al., 2024a)": (
        "Y. Li, A. Lou, Z. Xu, S. Wang, C. Chang, 'Leveraging sinusoidal representation networks "
        "to predict fMRI signals from EEG', SPIE Medical Imaging 2024 (12926:795-800). Its public "
        "abstract says only that a sinusoidal representation network (SIREN) front end feeds an "
        "encoder-decoder; the number and width of the SIREN layers, their frequency scale "
        "(omega_0), how the SIREN is applied to the EEG, and the encoder-decoder's layers are not "
        "in any public source we could reach (no code repository is published), so building it "
        "would mean inventing the architecture."
    ),
}

#: The Table 1 baselines the package builds, by label (paper's order).
BUILT_BASELINES: dict[str, str] = {
    label: name for label, _, name in TABLE1_BASELINES if name is not None
}
