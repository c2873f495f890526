"""Developer tools that regenerate committed data files (not used at run time)."""
