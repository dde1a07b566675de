"""User preferences in QSettings (recent folders, toggles, window geometry, model device and
weights).

Tests pass an ini path so they never touch the user's real settings.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings

ORGANIZATION = "resunet-gui"
APPLICATION = "resunet-gui"
MAX_RECENT = 10
DEVICES = ("auto", "cpu", "cuda", "mps")


class Preferences:
    """Typed accessors over one QSettings store."""

    def __init__(self, ini_path: str | Path | None = None) -> None:
        if ini_path is None:
            self.store = QSettings(ORGANIZATION, APPLICATION)
        else:
            self.store = QSettings(str(ini_path), QSettings.Format.IniFormat)

    def _bool(self, key: str, default: bool) -> bool:
        value = self.store.value(key, default)
        if isinstance(value, str):
            return value.lower() in ("1", "true", "yes")
        return bool(value)

    def _set(self, key: str, value: object) -> None:
        self.store.setValue(key, value)
        self.store.sync()

    @property
    def recent_folders(self) -> list[str]:
        value: Any = self.store.value("recent_folders", [])  # QSettings values are untyped
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def add_recent(self, folder: str | Path) -> None:
        folder = str(Path(folder).resolve())
        items = [f for f in self.recent_folders if f != folder]
        self._set("recent_folders", [folder, *items][:MAX_RECENT])

    @property
    def auto_suggest(self) -> bool:
        return self._bool("auto_suggest", True)

    @auto_suggest.setter
    def auto_suggest(self, on: bool) -> None:
        self._set("auto_suggest", bool(on))

    @property
    def opacity(self) -> float:
        value: Any = self.store.value("opacity", 0.5)
        return float(value)

    @opacity.setter
    def opacity(self, value: float) -> None:
        self._set("opacity", float(value))

    @property
    def brush_radius(self) -> int:
        value: Any = self.store.value("brush_radius", 8)
        return int(value)

    @brush_radius.setter
    def brush_radius(self, value: int) -> None:
        self._set("brush_radius", int(value))

    def geometry(self) -> bytes | None:
        value = self.store.value("geometry")
        return bytes(value) if value is not None else None

    def set_geometry(self, data: bytes) -> None:
        self._set("geometry", data)

    # ---- model set-up (read when a folder's engine is built) ------------------------------
    @property
    def device(self) -> str:
        """"auto", "cpu", "cuda" or "mps"; anything else in the store reads as "auto"."""
        value = str(self.store.value("model/device", "auto"))
        return value if value in DEVICES else "auto"

    @device.setter
    def device(self, value: str) -> None:
        if value not in DEVICES:
            raise ValueError(f"unknown device {value!r}; choose one of {', '.join(DEVICES)}")
        self._set("model/device", value)

    @property
    def weights(self) -> str:
        """Encoder start for a new model: "imagenet" (cached only), "none", or a file path."""
        value = str(self.store.value("model/weights", "imagenet") or "imagenet")
        return value

    @weights.setter
    def weights(self, value: str) -> None:
        self._set("model/weights", str(value))
