"""Importing weights trained elsewhere: the authors' PyTorch DeepDeblur checkpoints."""
