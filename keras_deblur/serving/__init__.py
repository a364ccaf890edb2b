"""Serving: SavedModel export for TF Serving, loading exports, tiled deblurring, and a client."""
