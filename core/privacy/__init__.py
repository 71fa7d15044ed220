"""Personal data: sealed at rest, found by blind index, kept out of logs."""
