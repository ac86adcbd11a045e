"""UI-free traffic generator: load engine, Bookinfo page classifier, tally and statistics."""
