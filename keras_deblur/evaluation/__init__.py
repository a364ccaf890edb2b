"""Test-set evaluation: scores per image (`scores.py`), the test set and its fingerprint
(`test_set.py`), a resumable log of scored images (`progress_log.py`), the summary, CSV and the
Table-2 comparison (`report.py`) and the figures (`figures.py`). `keras_deblur/evaluate.py` is the
command that composes them.
"""
