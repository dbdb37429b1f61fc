"""Spark jobs of the lakehouse pipeline, one package per sector."""
