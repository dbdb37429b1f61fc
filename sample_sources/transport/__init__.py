"""Sample sources of the transport sector: a GTFS bus feed and commercial-vehicle GPS pings."""
