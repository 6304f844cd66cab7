"""Model-family adapters: all knowledge of one model family lives in its adapter."""
