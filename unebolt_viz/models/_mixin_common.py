"""What the ROI models' and the volumetric models' contracts share.

:class:`~unebolt_viz.models.base.EEGModelMixin` and
:class:`~unebolt_viz.models.volumetric_base.VolumetricModelMixin` both derive from
:class:`ModelMixinCommon`: one registry of model classes by ``name``, rebuilding from a config,
the input tensor's type checks and the parameter count.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

#: Every model class by its ``name``, filled as the classes are defined.
_MODEL_CLASSES: dict[str, type[ModelMixinCommon]] = {}


class ModelMixinCommon:
    """Registry, config round trip and input checks shared by the model contracts.

    A contract class sets ``_known_names`` (the names an unknown-model error lists); a model
    class sets ``name``, which registers it for :meth:`from_config`, and implements
    ``_build(hparams)``.
    """

    name: ClassVar[str] = ""
    #: The model names listed when :meth:`from_config` meets an unknown one.
    _known_names: ClassVar[tuple[str, ...]] = ()
    n_outputs: int
    ch_names: tuple[str, ...]
    preset: str
    seed: int | None
    hparams: dict[str, Any]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("name"):
            _MODEL_CLASSES[cls.name] = cls

    def _build(self, hparams: dict[str, Any]) -> None:
        """Create the layers from the resolved hyperparameters (called under the seed)."""
        raise NotImplementedError(f"{type(self).__name__} must implement _build(hparams)")

    @property
    def n_chans(self) -> int:
        """Number of EEG channels the model reads."""
        return len(self.ch_names)

    def _common_config(self, **sizes: Any) -> dict[str, Any]:
        """The config entries every model has, with its input ``sizes`` after ``ch_names``."""
        return {
            "name": self.name,
            "preset": self.preset,
            "n_outputs": self.n_outputs,
            "ch_names": list(self.ch_names),
            **sizes,
            "seed": self.seed,
            **self.hparams,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> nn.Module:
        """Rebuild a freshly initialised model from :meth:`get_config` output."""
        name = config.get("name")
        if cls.name and name != cls.name:
            raise ValueError(f"config is for model {name!r}, not {cls.name!r}")
        if name not in _MODEL_CLASSES:
            raise ValueError(f"Unknown model {name!r}; choose one of {cls._known_names}")
        options = {key: value for key, value in config.items() if key != "name"}
        return _MODEL_CLASSES[name](**options)

    def _check_tensor(self, x: torch.Tensor, shape: tuple[int, ...], expected: str) -> None:
        """Raise unless ``x`` is a float tensor (batch, *shape); ``expected`` describes it."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"expected a torch.Tensor, got {type(x).__name__}")
        if x.ndim != len(shape) + 1 or tuple(x.shape[1:]) != shape:
            raise ValueError(f"{self.name} expects {expected}, got {tuple(x.shape)}")
        if not x.is_floating_point():
            raise TypeError(f"expected a floating-point tensor, got {x.dtype}")

    def count_parameters(self, trainable_only: bool = False) -> int:
        """Number of parameter entries (all, or only those with ``requires_grad``)."""
        return sum(p.numel() for p in self.parameters()  # type: ignore[attr-defined]
                   if p.requires_grad or not trainable_only)


def check_overrides(model_name: str, hparams: dict[str, Any], overrides: dict[str, Any],
                    also_allowed: str) -> None:
    """Raise a ValueError naming the ``overrides`` that are no hyperparameter of the preset."""
    unknown = sorted(set(overrides) - set(hparams))
    if unknown:
        raise ValueError(
            f"Unknown option(s) {unknown} for model {model_name!r}; "
            f"allowed: {also_allowed}, {', '.join(sorted(hparams))}"
        )
