"""Scoring fills: metrics, the perceptual networks, the evaluate command's core and the ship
gate for checkpoints."""
