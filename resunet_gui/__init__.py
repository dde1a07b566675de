"""resunet-gui: annotate images with ResNet18-UNet suggestions that learn from corrections."""

__version__ = "0.1.0"
