from apps.core.errors import Conflict, FastnError, InvalidInput, InvalidWorkflow, NotFound


class WorkflowNotFound(NotFound):
    code = "workflow_not_found"


class WorkflowExists(Conflict):
    code = "workflow_exists"


class WorkflowDisabled(Conflict):
    code = "workflow_disabled"


class NotDeployed(Conflict):
    code = "not_deployed"


class VersionNotFound(NotFound):
    code = "version_not_found"


class ExecutionNotFound(NotFound):
    code = "execution_not_found"


class WorkflowCompileError(InvalidWorkflow):
    code = "compile_error"


class NothingToPublish(Conflict):
    code = "nothing_to_publish"


class InvalidWorkflowInput(InvalidInput):
    code = "invalid_input"


class IdempotencyConflict(Conflict):
    code = "idempotency_key_reused"


class ExecutionUnavailable(FastnError):
    """The queue could not take the run (broker down)."""

    status, code = 503, "queue_unavailable"
    default_message = "The execution queue is unavailable; try again shortly."


class WaitTimeout(FastnError):
    status, code = 504, "execution_wait_timeout"
    default_message = "The execution did not finish in time to answer; poll GET /api/v1/executions/{id}."


class NotPublished(Conflict):
    """The operation needs a published version and there is none yet."""

    code = "not_published"


class DraftChanged(Conflict):
    """Someone saved the draft after the editor loaded it (a lost update prevented)."""

    code = "draft_changed"


class TestCaseNotFound(NotFound):
    __test__ = False
    code = "test_case_not_found"


class TestsFailed(Conflict):
    """A deploy gate: the approved test cases did not all pass against the version."""

    __test__ = False
    code = "tests_failed"
