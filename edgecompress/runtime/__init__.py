"""Deploy-time loading and the shared pre/postprocess (no training dependencies)."""
