"""Environment IoT sector: air-quality index (VN_AQI) and regulatory limits as reference data."""
