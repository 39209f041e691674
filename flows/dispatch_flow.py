"""Entry point of the `dispatch_flow` flow for deployments (prefect.yaml: `flows.dispatch_flow:dispatch_flow`);
the flow itself is in nok_workflow/runtime/flows.py."""

from nok_workflow.runtime.flows import dispatch_flow

__all__ = ["dispatch_flow"]
