"""Benchmarks: figures and their stated targets, outside the runtime layers.

The CLI's ``bench`` command dispatches here (``bench.command``); each benchmark is one module
with ``add_arguments(parser)`` (optional), ``TARGETS`` and ``run(args) -> list[str]`` (the
stated targets it missed). A new benchmark is one line in ``command.BENCHES``.
"""
