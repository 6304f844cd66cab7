"""Model families: what the one compile loop needs to know of each (adapter + compile steps)."""
