"""ResNet18 encoder that returns the five-level feature pyramid a U-Net decoder needs.

The stem and stages are taken straight from torchvision's ``resnet18`` (no forward hooks), so
the parameter names match torchvision's state dict and pretrained weights load unchanged.
"""
from __future__ import annotations

import torch
from torch import nn
from torchvision.models import resnet18

# Names of the encoder's stages in freezing order (the stem is conv1 + bn1).
STAGES: tuple[str, ...] = ("stem", "layer1", "layer2", "layer3", "layer4")


class ResNet18Encoder(nn.Module):
    """Features at strides 2, 4, 8, 16, 32 with 64, 64, 128, 256, 512 channels."""

    out_channels: tuple[int, ...] = (64, 64, 128, 256, 512)
    reduction: int = 32

    def __init__(self, in_channels: int = 3) -> None:
        super().__init__()
        if in_channels < 1:
            raise ValueError(f"in_channels must be >= 1, got {in_channels}")
        base = resnet18(weights=None)
        self.in_channels = in_channels
        if in_channels != 3:
            base.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
            nn.init.kaiming_normal_(base.conv1.weight, mode="fan_out", nonlinearity="relu")
        self.conv1 = base.conv1
        self.bn1 = base.bn1
        self.relu = base.relu
        self.maxpool = base.maxpool
        self.layer1 = base.layer1
        self.layer2 = base.layer2
        self.layer3 = base.layer3
        self.layer4 = base.layer4

    def stage_modules(self, stage: str) -> list[nn.Module]:
        """Modules making up one named stage (see ``STAGES``)."""
        if stage == "stem":
            return [self.conv1, self.bn1]
        if stage in STAGES:
            return [getattr(self, stage)]
        raise ValueError(f"unknown encoder stage {stage!r}; expected one of {STAGES}")

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        f0 = self.relu(self.bn1(self.conv1(x)))
        f1 = self.layer1(self.maxpool(f0))
        f2 = self.layer2(f1)
        f3 = self.layer3(f2)
        f4 = self.layer4(f3)
        return [f0, f1, f2, f3, f4]
