"""Packaging metadata is well-formed and every file the specs and entries point to exists."""
from __future__ import annotations

import ast
import configparser
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import resunet_gui

ROOT = Path(__file__).resolve().parents[1]
RESOURCES = ROOT / "resources"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
DESKTOP = RESOURCES / "resunet-gui.desktop"
METAINFO = RESOURCES / "io.github.resunet_gui.metainfo.xml"
SPECS = sorted((ROOT / "packaging").glob("*.spec"))


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (no image library needed)."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    assert head[12:16] == b"IHDR"
    return struct.unpack(">II", head[16:24])


def desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # keys are case-sensitive in desktop entries
    parser.read(DESKTOP, encoding="utf-8")
    return parser["Desktop Entry"]


def test_icon_pngs_exist_at_every_size_with_matching_dimensions() -> None:
    for size in ICON_SIZES:
        path = RESOURCES / "icons" / f"resunet-gui-{size}.png"
        assert path.is_file(), f"missing {path}"
        assert png_size(path) == (size, size)


def test_icon_svg_source_parses_and_is_square() -> None:
    root = ET.parse(RESOURCES / "icons" / "resunet-gui.svg").getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("viewBox") == "0 0 512 512"


def test_windows_and_macos_icon_containers_have_their_magic_bytes() -> None:
    ico = (RESOURCES / "icons" / "resunet-gui.ico").read_bytes()
    assert ico[:4] == b"\x00\x00\x01\x00" and struct.unpack("<H", ico[4:6])[0] >= 6
    assert (RESOURCES / "icons" / "resunet-gui.icns").read_bytes()[:4] == b"icns"


def test_icon_ships_inside_the_package_for_the_wheel() -> None:
    pkg = Path(resunet_gui.__file__).parent / "resources"
    assert (pkg / "resunet-gui.svg").read_bytes() == (RESOURCES / "icons" / "resunet-gui.svg").read_bytes()
    assert png_size(pkg / "resunet-gui-256.png") == (256, 256)


def test_desktop_entry_launches_the_cli_script_with_our_icon() -> None:
    entry = desktop_entry()
    assert entry["Type"] == "Application"
    assert entry["Exec"].split()[0] == "resunet-gui"
    assert entry["Exec"].split()[1] == "gui"
    assert entry["Terminal"] == "false"
    assert (RESOURCES / "icons" / f"{entry['Icon']}.svg").is_file()
    assert entry["Categories"].endswith(";")
    for key in ("Name", "Comment", "Categories", "Keywords"):
        assert entry[key].strip(), key


def test_desktop_entry_passes_desktop_file_validate_when_installed() -> None:
    tool = shutil.which("desktop-file-validate")
    if tool is None:
        pytest.skip("desktop-file-validate not installed (apt install desktop-file-utils)")
    result = subprocess.run([tool, str(DESKTOP)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_metainfo_matches_desktop_entry_and_package_version() -> None:
    root = ET.parse(METAINFO).getroot()
    assert root.tag == "component" and root.get("type") == "desktop-application"
    assert root.findtext("id") == "io.github.resunet_gui"
    launchable = root.find("launchable")
    assert launchable is not None and launchable.text == DESKTOP.name
    assert root.findtext("icon") == desktop_entry()["Icon"]
    assert root.findtext("provides/binary") == "resunet-gui"
    versions = [r.get("version") for r in root.iter("release")]
    assert versions and versions[0] == resunet_gui.__version__
    assert root.findtext("project_license") == "MIT"


def test_metainfo_passes_appstreamcli_validate_when_installed() -> None:
    tool = shutil.which("appstreamcli")
    if tool is None:
        pytest.skip("appstreamcli not installed (apt install appstream)")
    result = subprocess.run([tool, "validate", "--no-net", str(METAINFO)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def spec_paths(spec: Path) -> list[Path]:
    """Repo paths a spec names: string literals beginning with a top-level repo folder name,
    joined with `/` (e.g. ROOT / "resources" / "icons" / "x.ico" -> resources/icons/x.ico)."""
    tree = ast.parse(spec.read_text(encoding="utf-8"), filename=str(spec))
    found: list[Path] = []

    def chain(node: ast.AST) -> list[str] | None:
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            left = chain(node.left)
            if left is not None and isinstance(node.right, ast.Constant) and isinstance(node.right.value, str):
                return [*left, node.right.value]
            return None
        if isinstance(node, ast.Name | ast.Call | ast.Attribute):
            return []  # ROOT, Path(SPECPATH), ...: the base folder
        return None

    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            parts = chain(node)
            if parts and parts[0] in {"resources", "packaging", "resunet_gui"}:
                found.append(ROOT.joinpath(*parts))
            elif parts and spec.parent.joinpath(*parts).suffix:  # relative to SPECPATH
                found.append(spec.parent.joinpath(*parts))
    return found


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.name)
def test_spec_file_is_valid_python_and_every_file_it_names_exists(spec: Path) -> None:
    paths = spec_paths(spec)
    assert paths, f"{spec.name} names no repo files; the path scan is broken"
    missing = [str(p.relative_to(ROOT)) for p in paths if p.suffix and not p.exists()]
    assert not missing, f"{spec.name} refers to missing files: {missing}"


def test_all_platform_specs_are_present() -> None:
    names = {p.name for p in SPECS}
    assert {"resunet-gui.spec", "resunet-gui-cpu.spec", "resunet-gui-windows.spec",
            "resunet-gui-macos.spec"} <= names


def test_build_script_smoke_tests_version_and_self_test() -> None:
    script = (ROOT / "packaging" / "build.sh").read_text(encoding="utf-8")
    assert '"$EXE" --version' in script
    assert '"$EXE" --self-test' in script
    result = subprocess.run(["bash", "-n", str(ROOT / "packaging" / "build.sh")],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
