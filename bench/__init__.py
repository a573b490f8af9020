"""Benchmarks of the payments API; each module is runnable as `python -m bench.<name>`.

See bench/README.md for what each one measures and the figures measured on the dev machine.
"""
