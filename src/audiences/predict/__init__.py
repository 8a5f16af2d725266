"""Predictive scores: who will buy in the next weeks, which buyer will not come back."""
