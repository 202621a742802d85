#!/usr/bin/env bash
# Create or update .venv with drgen installed (editable) plus the given extras, e.g. `scripts/venv.sh test`.
# Works on a fresh Debian machine: when python3 cannot create a virtualenv (Debian ships venv separately),
# install python3-venv with apt-get if we are root, else say what to install.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
extras=${1:-}

if ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "drgen: $PYTHON not found; install Python 3.11 or newer" >&2
  exit 2
fi
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "drgen: $PYTHON is $("$PYTHON" -V 2>&1); drgen needs Python 3.11 or newer" >&2
  exit 2
fi
if [ ! -x "$VENV/bin/python" ]; then
  if ! "$PYTHON" -m venv "$VENV" 2>/dev/null; then
    rm -rf "$VENV"
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "drgen: installing python3-venv (needed to create .venv)" >&2
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
      "$PYTHON" -m venv "$VENV"
    else
      echo "drgen: '$PYTHON -m venv' failed; install your distribution's python3-venv package" >&2
      exit 2
    fi
  fi
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
fi
spec="."
[ -n "$extras" ] && spec=".[$extras]"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$spec"
