#!/usr/bin/env bash
# Build the one-folder bundle with PyInstaller and smoke-test it (`make package` runs this).
#   PYTHON  interpreter whose site-packages go into the bundle (default .venv/bin/python)
#   SPEC    spec file (default packaging/resunet-gui.spec; packaging/resunet-gui-cpu.spec for CPU)
#   CLEAN=1 drop PyInstaller's analysis cache first (slower, use after dependency changes)
# Prints build time, bundle size, the largest parts, and exits non-zero if a smoke test fails.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON=${PYTHON:-.venv/bin/python}
SPEC=${SPEC:-packaging/resunet-gui.spec}
NAME=$(basename "$SPEC" .spec)
BUNDLE=dist/$NAME
EXE=$BUNDLE/$NAME
WORK=build/pyinstaller/$NAME

if ! "$PYTHON" -c "import PyInstaller" 2>/dev/null; then
  echo "PyInstaller missing in $PYTHON: run '$PYTHON -m pip install -c constraints.txt -e .[package]'" >&2
  exit 2
fi
echo "== building $BUNDLE from $SPEC with $("$PYTHON" -c 'import sys, torch; print(f"python {sys.version.split()[0]}, torch {torch.__version__}")')"

clean=()
[[ "${CLEAN:-0}" == 1 ]] && clean=(--clean)
start=$SECONDS
"$PYTHON" -m PyInstaller --noconfirm "${clean[@]}" --log-level WARN \
  --distpath dist --workpath "$WORK" "$SPEC"
build_s=$((SECONDS - start))

echo "== smoke test: $EXE --version"
version_out=$("$EXE" --version)
echo "$version_out"
expected=$("$PYTHON" -c 'import resunet_gui; print(resunet_gui.__version__)')
if [[ "$version_out" != *"$expected"* ]]; then
  echo "FAIL: bundle reports '$version_out', source is $expected" >&2
  exit 1
fi

echo "== smoke test: $EXE --self-test (offscreen)"
st_start=$SECONDS
set +e
env -u DISPLAY -u WAYLAND_DISPLAY QT_QPA_PLATFORM=offscreen "$EXE" --self-test
st_rc=$?
set -e
st_s=$((SECONDS - st_start))
echo "self-test exit code: $st_rc (${st_s} s)"

size_b=$(du -sb "$BUNDLE" | cut -f1)
files=$(find "$BUNDLE" -type f | wc -l)
echo "== largest parts of $BUNDLE"
du -sb "$BUNDLE"/_internal/* 2>/dev/null | sort -rn | head -12 \
  | awk '{printf "  %8.1f MiB  %s\n", $1/1048576, $2}'
echo "== summary"
printf 'bundle:      %s\n' "$BUNDLE"
awk -v b="$size_b" -v f="$files" \
  'BEGIN {printf "bundle size: %.1f MiB (%.2f GiB), %d files\n", b/1048576, b/1073741824, f}'
printf 'build time:  %d s\n' "$build_s"
printf 'smoke tests: --version ok, --self-test exit %d\n' "$st_rc"
exit "$st_rc"
