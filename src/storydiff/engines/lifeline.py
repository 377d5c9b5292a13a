"""Imported by the fork server alone (a preload module): it ends when the main process ends.

Every worker holds a copy of the pipe the fork server watches for the main process's end
(multiprocessing passes it on so that workers could start processes too), so after a SIGKILL
of the main process the server never saw end-of-file, and its workers, whose lives end with
it, lived on. The kernel now kills the server when the main process goes.
"""

from .local import kill_me_when_my_parent_ends

kill_me_when_my_parent_ends()
