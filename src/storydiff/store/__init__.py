"""What earlier runs computed, kept for the next: the SQLite store (cache), the keys that say
what each stored result depends on (keys), and the replay of a whole run's output (replay).

Only the orchestrator (pipeline) and the commands that manage the store use this package;
the stages never see it.
"""
