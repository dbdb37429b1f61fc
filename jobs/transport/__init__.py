"""Transport sector (owner: Bộ Xây dựng): a GTFS static bus feed and commercial-vehicle GPS pings."""
