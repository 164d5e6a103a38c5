"""`make bench` (`python -m infra.bench`): the figures that keep CareCue's cost and cold start honest.

Never part of `make test`, never deployed. See `__main__` for what it measures and how.
"""
