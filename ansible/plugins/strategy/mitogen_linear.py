"""Mitogen's linear strategy, from the mitogen package pinned in requirements/dev.txt.

ansible-core finds strategy plugins only by path, so this file puts mitogen's on the
path that ansible.cfg names. Mitogen runs modules in a Python interpreter it keeps open
on the host instead of starting one per task: the rehearsal's idempotent re-run takes
26 s instead of 103 s (docs/deploy.md). `ANSIBLE_STRATEGY=linear` turns it off.
"""

from ansible_mitogen.plugins.strategy.mitogen_linear import StrategyModule

__all__ = ["StrategyModule"]
