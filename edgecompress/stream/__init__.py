"""Stream runner: capture thread → latest-frame-wins slot → inference loop → sinks (``edgecompress run``)."""
