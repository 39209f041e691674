"""Entry point of the `plan_flow` flow for deployments (prefect.yaml: `flows.plan_flow:plan_flow`);
the flow itself is in nok_workflow/runtime/flows.py."""

from nok_workflow.runtime.flows import plan_flow

__all__ = ["plan_flow"]
