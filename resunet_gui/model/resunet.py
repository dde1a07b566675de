"""ResNet18-UNet: encoder + U-Net decoder + head, for inputs of any size."""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from resunet_gui.model.decoder import DEFAULT_DECODER_CHANNELS, UNetDecoder
from resunet_gui.model.encoder import STAGES, ResNet18Encoder
from resunet_gui.model.head import SegmentationHead

ARCHITECTURE = "resnet18-unet"
__all__ = ["ARCHITECTURE", "DEFAULT_DECODER_CHANNELS", "ResUNet", "pad_to_multiple"]


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, int, int]:
    """Pad the bottom/right of an NCHW tensor to a multiple; reflect where the input allows it."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph == 0 and pw == 0:
        return x, h, w
    mode = "reflect" if ph < h and pw < w else "replicate"
    return F.pad(x, (0, pw, 0, ph), mode=mode), h, w


class ResUNet(nn.Module):
    """U-Net on a ResNet18 encoder; ``forward`` pads to a multiple of 32 and crops back."""

    architecture = ARCHITECTURE

    def __init__(
        self,
        num_classes: int,
        in_channels: int = 3,
        decoder_channels: Sequence[int] = DEFAULT_DECODER_CHANNELS,
    ) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.decoder_channels = tuple(int(c) for c in decoder_channels)
        self.encoder = ResNet18Encoder(in_channels)
        self.decoder = UNetDecoder(self.encoder.out_channels, self.decoder_channels)
        self.head = SegmentationHead(self.decoder.out_channels, num_classes)
        self._frozen: tuple[str, ...] = ()

    # -- freezing -----------------------------------------------------------------------------
    @property
    def frozen_stages(self) -> tuple[str, ...]:
        return self._frozen

    def freeze_encoder(self, stages: Iterable[str] | None = None) -> None:
        """Stop training the given encoder stages (all when None); their BN stays in eval
        mode even after ``.train()`` so running statistics never drift."""
        names = STAGES if stages is None else tuple(stages)
        for name in names:
            for module in self.encoder.stage_modules(name):
                for p in module.parameters():
                    p.requires_grad_(False)
        self._frozen = tuple(s for s in STAGES if s in set(self._frozen) | set(names))
        self.train(self.training)

    def unfreeze_encoder(self) -> None:
        for p in self.encoder.parameters():
            p.requires_grad_(True)
        self._frozen = ()
        self.train(self.training)

    def train(self, mode: bool = True) -> ResUNet:
        super().train(mode)
        for name in self._frozen:
            for module in self.encoder.stage_modules(name):
                module.eval()
        return self

    # -- forward ------------------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, h, w = pad_to_multiple(x, self.encoder.reduction)
        logits = self.head(self.decoder(self.encoder(x)))
        if logits.shape[-2:] != (h, w):
            logits = logits[..., :h, :w]
        return logits
