"""Training: the run configuration, the distribution strategy and the training loop."""
