"""The ``shortlist`` command: run the embedded stack, submit CVs, read rankings, inspect topics."""
