"""Reference data: administrative units (provinces 2025 and legacy, the old -> new mapping, communes)."""
