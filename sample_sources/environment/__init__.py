"""Environment IoT sample sources (ambient air stations, industrial wastewater facilities).

The generator writes reference lists and daily reading files plus a report of exactly which mess
it injected, so the pipeline's quarantine, de-duplication and repair counts can be checked.
"""
