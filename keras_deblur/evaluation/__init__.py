"""Test-set evaluation: scores per image (`scores.py`), the test set and its fingerprint
(`dataset.py`), the summary, CSV and the Table-2 comparison (`report.py`) and the figures
(`figures.py`); scored images are logged with `keras_deblur.progress_log`, so a killed evaluation
resumes. `keras_deblur/evaluate.py` is the command that composes them.
"""
