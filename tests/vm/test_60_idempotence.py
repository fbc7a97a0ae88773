"""The second `vagrant provision` (after the reboot) changes nothing: changed=0 in both
provisioners' recaps (prepare and site)."""

from __future__ import annotations

import re
import time

from conftest import REPO, SLOW, record, vm_tool


def test_second_provision_changes_nothing() -> None:
    t0 = time.monotonic()
    result = vm_tool("provision", timeout=3600 * SLOW)
    seconds = round(time.monotonic() - t0)
    log = REPO / "artifacts" / "vm-provision-2.log"
    log.write_text(result.stdout + result.stderr)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    recaps = re.findall(r"^default\s+: (ok=\d+\s+changed=\d+.*)$", result.stdout, re.M)
    assert len(recaps) == 2, recaps
    record("second_provision", {"seconds": seconds, "recaps": recaps})
    for recap in recaps:
        assert re.search(r"changed=0\s+unreachable=0\s+failed=0", recap), recap
