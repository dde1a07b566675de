"""Label import: one reader module per format, a registry, and ``import_labels``."""
from .base import ImportResult, LabelImportError
from .registry import formats, import_labels

__all__ = ["ImportResult", "LabelImportError", "formats", "import_labels"]
