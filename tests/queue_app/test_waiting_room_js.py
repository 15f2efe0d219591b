import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_waiting_room_polling_logic():
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is needed to test the waiting room's JavaScript")
    result = subprocess.run(
        [node, "--test", str(ROOT / "tests/queue_app/js/waiting_room.test.js")],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "ENCORE_ROOT": str(ROOT)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "# fail 0" in result.stdout
