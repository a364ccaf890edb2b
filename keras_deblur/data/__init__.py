"""Data: discover pairs, synthesise blur, render the embedded scenes, augment, and feed tf.data.

Every source ends in the GOPRO directory layout, `<root>/<split>/<sequence>/{blur,blur_gamma,sharp}/
<frame>.png`, so one reader (`pairs.py`) serves them all.
"""
