"""The HTTP edge: how domain errors become status codes and the one error body."""
