"""Holding against abuse: rate limits, connection caps, and logs with nothing raw in them."""
