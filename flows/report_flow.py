"""Entry point of the `quarterly_report_flow` flow for deployments (prefect.yaml: `flows.report_flow:quarterly_report_flow`);
the flow itself is in nok_workflow/runtime/flows.py."""

from nok_workflow.runtime.flows import quarterly_report_flow

__all__ = ["quarterly_report_flow"]
