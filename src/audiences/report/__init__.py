"""What a run did, for the people who review it: text summary, HTML report, step timings."""

from audiences.report.steps import read_steps, step_timer
from audiences.report.summary import run_summary, write_run_summary

__all__ = ["read_steps", "run_summary", "step_timer", "write_run_summary"]
