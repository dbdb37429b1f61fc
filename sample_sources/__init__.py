"""Deterministic sample sources: seeded generators and small committed fixtures.

They stand in for the real feeds (station FTP pushes, ministry reference lists) so every layer of
the pipeline can be built and tested offline, with mess injected at known rates.
"""
