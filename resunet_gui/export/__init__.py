"""Dataset export: one writer module per format, a registry, and ``export_project``."""
from .base import ExportCancelled, ExportOptions, ExportResult
from .pipeline import export_images, export_project
from .registry import formats

__all__ = ["ExportCancelled", "ExportOptions", "ExportResult", "export_images", "export_project",
           "formats"]
