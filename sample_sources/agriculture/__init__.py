"""Sample sources of the agriculture sector (crop statistics, OCOP registry, EPCIS traceability)."""
