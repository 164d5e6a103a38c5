"""The shared vocabulary at the bottom of every layer: what every other package may import."""
