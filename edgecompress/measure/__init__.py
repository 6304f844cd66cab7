"""Measurement on the real runtime: accuracy, latency and the machine it ran on."""
