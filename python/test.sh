#!/usr/bin/env bash
# The Python package's tests (docs/python.md): builds and installs the package (pip install
# ./python, maturin compiling the Rust part) into a virtual environment of its own,
# target/python-venv, then runs pytest on python/tests. Needs python3 (3.9 or newer, with venv and
# pip) and the Rust toolchain; the first run fetches the build and test dependencies from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/python-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "./python[test]"
# The CLI the tests compare against: the one `cargo test` built, unless CASCADE_BIN names another.
export CASCADE_BIN="${CASCADE_BIN:-$PWD/target/debug/cascade}"
cd python/tests
"../../$venv/bin/python" -m pytest -q .
