"""CompressAI imports through our stand-in, never through torchvision, and fails with the fix."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from baselines.compressai_import import import_compressai
from bench.errors import BenchError

REPO = Path(__file__).resolve().parent.parent

PROBE = """
import sys
from baselines.compressai_import import import_compressai
cai = import_compressai()
from compressai.models import FactorizedPrior
print(cai.__version__, ",".join(cai.available_entropy_coders()), cai.get_entropy_coder(),
      "torchvision" in sys.modules, FactorizedPrior.__name__)
"""


@pytest.mark.slow  # a fresh interpreter importing torch and compressai
def test_imports_in_a_fresh_process_without_torchvision() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.returncode == 0, proc.stderr
    version, coders, coder, torchvision_left, cls = proc.stdout.split()
    assert version.startswith("1.") and "ans" in coders.split(",") and coder == "ans"
    assert torchvision_left == "False"  # the stand-in is gone once compressai is imported
    assert cls == "FactorizedPrior"


def test_missing_compressai_names_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "compressai", None)  # how import sees an uninstalled package
    with pytest.raises(BenchError, match=r"compressai is not installed .*--no-deps compressai"):
        import_compressai()
