"""Measuring what the segments do: holdout lift with its uncertainty (lift.py)."""
