"""System 1 (global reasoning), System 2 (detail understanding) and the pipeline."""
