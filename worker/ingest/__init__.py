"""Getting reports in: fetch, parse, normalise, decide, persist — one feed poll as one script."""
