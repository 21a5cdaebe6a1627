"""Dyag's foundations, imported by every other package and importing none of them.

:mod:`core.config` (the one settings object), :mod:`core.errors` (the one user-facing error
type), :mod:`core.choices` (the modes and backends, as plain lists), :mod:`core.prompts` (the
prompt contract shared by training and inference) and :mod:`core.hashing`.
"""
