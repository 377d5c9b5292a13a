"""Engines run the pipeline's per-batch stage functions: in this process, or in a pool."""
