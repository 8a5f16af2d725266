"""What a run did, for the people who review it: text summary, HTML report, stage timings."""

from audiences.report.stages import read_stages, stage_timer
from audiences.report.summary import run_summary, write_run_summary

__all__ = ["read_stages", "run_summary", "stage_timer", "write_run_summary"]
