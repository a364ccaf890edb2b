"""The TFX-shaped pipeline: ingest (Apache Beam) -> train -> evaluate -> gate -> push."""
