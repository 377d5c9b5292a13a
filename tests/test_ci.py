from __future__ import annotations

import re

from tests.conftest import REPO


def test_ci_waits_for_the_dpkg_lock_instead_of_failing() -> None:
    script = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    calls = re.findall(r"apt-get[^\n&|]*", script)
    assert len(calls) == 2  # update, install
    assert all("-o DPkg::Lock::Timeout=600" in call for call in calls)
