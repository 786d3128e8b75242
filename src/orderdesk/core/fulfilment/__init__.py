"""Where orders go: places (the built-in gazetteer), delivery zones and geocoding."""
