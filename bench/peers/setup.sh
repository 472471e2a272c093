#!/usr/bin/env bash
# Makes the Python virtual environment of the benchmark peers and installs what they need from PyPI:
# QuantLib (its Python API: BlackCalculator), numpy, pyarrow. Not run in CI.
# Usage: bench/peers/setup.sh [VENV_DIR]   (default: target/bench/venv)
set -euo pipefail
cd "$(dirname "$0")/../.."
venv="${1:-target/bench/venv}"
python="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet QuantLib numpy pyarrow
"$venv/bin/python" -c "import QuantLib, numpy, pyarrow; print('peers ready: QuantLib', QuantLib.__version__, 'numpy', numpy.__version__, 'pyarrow', pyarrow.__version__)"
