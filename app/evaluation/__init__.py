"""Scoring fills: metrics, the perceptual networks, the evaluate command's core, attention
statistics and the ship gate for checkpoints."""
