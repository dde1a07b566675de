"""Typed errors: every failure a user can cause carries a message fit to show them."""


class ResunetError(Exception):
    """Base class; ``str(err)`` is a one-line message meant for the user."""


class ImageReadError(ResunetError):
    """An image file is missing, corrupt, truncated, not an image, or too large."""


class MaskError(ImageReadError):
    """A mask does not fit its image (size) or holds values that are not classes."""


class ProjectError(ResunetError):
    """A project folder cannot be opened or its state file is invalid."""


class ProjectStateError(ProjectError):
    """The project's state file (project.json) is corrupt; opening with recovery fixes it."""


class ProjectLockedError(ProjectError):
    """Another instance holds the project's lock."""


class StorageError(ResunetError):
    """A write failed (disk full, read-only folder, file changed on disk); nothing was lost."""


class CheckpointError(ResunetError):
    """A checkpoint is corrupt, of another architecture, or does not match the project."""


class WeightsError(ResunetError):
    """Pretrained weights are unavailable or fail their checksum."""


class ExportError(ResunetError):
    """An export cannot be written (target not empty, cancelled, bad option)."""
