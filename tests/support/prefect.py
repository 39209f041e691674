"""Reading what Prefect's server recorded of a flow run."""

from __future__ import annotations


def settled_task_runs(flow_run_id, timeout: float = 60.0) -> list:
    """The flow run's task runs once the server has recorded every final state.

    Prefect 3 records task-run states from events, after the flow has returned: read at
    once, a step may still show ``Pending``. Wait until every step is final and their
    number has stopped growing.
    """
    import time

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    deadline, seen = time.monotonic() + timeout, -1
    with get_client(sync_client=True) as client:
        while True:
            runs = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
                limit=200, sort="EXPECTED_START_TIME_ASC")
            settled = runs and all(r.state is not None and r.state.is_final() for r in runs)
            if settled and len(runs) == seen:
                return runs
            if time.monotonic() > deadline:
                raise AssertionError(f"task runs not settled after {timeout} s: "
                                     f"{[(r.name, r.state and r.state.name) for r in runs]}")
            seen = len(runs) if settled else -1
            time.sleep(0.3)

