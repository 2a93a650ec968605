"""Workflows, their immutable versions, deployments, executions and state.

Tables live in each organization's schema.
"""

import uuid

from django.db import models

from apps.workflows.tiers import Tier


class Workflow(models.Model):
    """A workflow's draft: code and configuration being edited.

    Runs from triggers use a published version deployed to an environment;
    only "Test" runs the draft.
    """

    class EditedVia(models.TextChoices):
        MANUAL = "manual", "Edited manually"
        AGENT = "agent", "Edited via agent"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    code = models.TextField()
    tier = models.CharField(max_length=16, choices=Tier.choices, default=Tier.STANDARD)
    timeout_ms = models.PositiveIntegerField()
    enabled = models.BooleanField(default=True)
    retry_policy = models.JSONField(default=dict)
    input_schema = models.JSONField(null=True, blank=True)
    edited_via = models.CharField(max_length=16, choices=EditedVia.choices, default=EditedVia.MANUAL)
    # Deploys to a production environment need the approved test cases to pass.
    require_passing_tests = models.BooleanField(default=False)
    latest_version = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.CharField(max_length=255, blank=True)
    updated_by = models.CharField(max_length=255, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["-updated_at", "-id"], name="workflow_recent"),
            models.Index(fields=["tier", "-updated_at"], name="workflow_tier"),
        ]

    def __str__(self) -> str:
        return self.slug

    @property
    def code_bytes(self) -> int:
        return len(self.code.encode("utf-8"))


class WorkflowVersion(models.Model):
    """An immutable snapshot made by Publish: code, configuration, content hash."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    code = models.TextField()
    config = models.JSONField()  # tier, timeout_ms, retry_policy, input_schema
    content_hash = models.CharField(max_length=64)
    note = models.CharField(max_length=500, blank=True)
    created_by = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workflow", "number"], name="version_unique_number")]
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"{self.workflow_id} v{self.number}"


class Deployment(models.Model):
    """A version put into an environment. The newest row per (workflow,
    environment) is what runs there; older rows are the history (rollback =
    deploying an earlier version again)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="deployments")
    environment = models.ForeignKey("settings.Environment", on_delete=models.CASCADE, related_name="deployments")
    version = models.ForeignKey(WorkflowVersion, on_delete=models.PROTECT, related_name="deployments")
    deployed_by = models.CharField(max_length=255, blank=True)
    deployed_at = models.DateTimeField(auto_now_add=True)
    # The test-case gate this deploy passed (require_passing_tests, production only).
    gate = models.ForeignKey("TestSuiteRun", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["workflow", "environment", "-deployed_at"], name="deployment_current")]

    def __str__(self) -> str:
        return f"{self.workflow_id} → {self.environment_id}"


class Execution(models.Model):
    """One run of a workflow version, across its attempts."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"
        TIMEOUT = "timeout", "Timeout"

    class Trigger(models.TextChoices):
        AGENT_SERVICE = "agent-service", "Agent service"
        WEBHOOK = "webhook", "Webhook"
        SCHEDULER = "scheduler", "Scheduler"
        MANUAL = "manual", "Manual"
        APP_EVENT = "app-event", "App event"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workflow = models.ForeignKey(Workflow, on_delete=models.SET_NULL, null=True, related_name="executions")
    # Indexed with created_at (execution_workflow), not alone: every index is
    # paid on each insert of the hot path.
    workflow_slug = models.SlugField(max_length=100, db_index=False)
    version = models.ForeignKey(WorkflowVersion, on_delete=models.SET_NULL, null=True, related_name="executions")
    version_number = models.PositiveIntegerField()
    environment = models.SlugField(max_length=50, db_index=False)
    tier = models.CharField(max_length=16, choices=Tier.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    triggered_by = models.CharField(max_length=16, choices=Trigger.choices)
    customer = models.ForeignKey("settings.Customer", on_delete=models.SET_NULL, null=True, related_name="+")
    customer_external_id = models.CharField(max_length=255, blank=True)
    event_id = models.UUIDField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=1)
    timeout_ms = models.PositiveIntegerField()
    input = models.JSONField(null=True)
    headers = models.JSONField(default=dict)
    # ctx.config: the settings of the run's activation (a customer's template,
    # apps.widgets) or of its trigger; null is an empty object.
    config = models.JSONField(null=True, blank=True)
    output = models.JSONField(null=True)
    error = models.JSONField(null=True)
    logs = models.JSONField(default=list)
    logs_truncated = models.BooleanField(default=False)
    # What the run did through the runtime API, in order: connector calls, db
    # and state operations, secret reads (see ExecutionHost.steps).
    steps = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True)
    finished_at = models.DateTimeField(null=True)
    duration_ms = models.FloatField(null=True)
    heartbeat_at = models.DateTimeField(null=True)
    next_attempt_at = models.DateTimeField(null=True)
    worker = models.CharField(max_length=255, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="execution_newest"),
            models.Index(fields=["workflow_slug", "-created_at", "-id"], name="execution_workflow"),
            # The failures (or timeouts…) of one workflow: the combination people filter by most.
            models.Index(fields=["workflow_slug", "status", "-created_at", "-id"], name="execution_workflow_status"),
            models.Index(fields=["status", "-created_at", "-id"], name="execution_status"),
            models.Index(fields=["tier", "-created_at", "-id"], name="execution_tier"),
            models.Index(fields=["customer_external_id", "-created_at", "-id"], name="execution_customer"),
            # The reaper looks only at unfinished executions.
            models.Index(
                fields=["status", "heartbeat_at"],
                name="execution_unfinished",
                condition=models.Q(status__in=["queued", "running"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.workflow_slug} {self.id} {self.status}"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.COMPLETED, self.Status.FAILED, self.Status.TIMEOUT)


class ExecutionAttempt(models.Model):
    """One attempt of an execution, with its own outcome and duration."""

    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="attempt_rows")
    number = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=16, choices=Execution.Status.choices)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True)
    duration_ms = models.FloatField(null=True)
    error = models.JSONField(null=True)
    worker = models.CharField(max_length=255, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["execution", "number"], name="attempt_unique_number")]
        ordering = ["number"]

    def __str__(self) -> str:
        return f"{self.execution_id} attempt {self.number}"


class IdempotencyRecord(models.Model):
    """The first response to a run request with an Idempotency-Key (kept 24 h)."""

    id = models.BigAutoField(primary_key=True)
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="+", null=True)
    status_code = models.PositiveSmallIntegerField(null=True)
    response = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workflow", "key"], name="idempotency_unique_key")]

    def __str__(self) -> str:
        return f"{self.workflow_id} {self.key}"


class StateEntry(models.Model):
    """`fastn.state` with ORG scope: per workflow and customer, with optional expiry."""

    id = models.BigAutoField(primary_key=True)
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="+")
    # NULL for runs without a customer (organization-level state).
    customer = models.ForeignKey("settings.Customer", on_delete=models.CASCADE, null=True, related_name="+")
    key = models.CharField(max_length=512)
    value = models.JSONField()
    size_bytes = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(null=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workflow", "customer", "key"], name="state_unique_key", nulls_distinct=False
            ),
        ]
        indexes = [
            models.Index(fields=["expires_at"], name="state_expiry", condition=models.Q(expires_at__isnull=False))
        ]

    def __str__(self) -> str:
        return f"{self.workflow_id}/{self.customer_id or '-'}/{self.key}"


class TestCase(models.Model):
    """A saved scenario for a workflow: input, mocked connector answers, expectation.

    MOCK cases answer every connector call from `mocks` inside the sandbox
    host; LIVE cases use the real connections of `customer` in a
    non-production `environment`. Approved cases gate production deploys of
    workflows with `require_passing_tests`.
    """

    __test__ = False  # not a pytest class

    class Mode(models.TextChoices):
        MOCK = "mock", "Mock"
        LIVE = "live", "Live"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="test_cases")
    name = models.CharField(max_length=200)
    scenario = models.TextField(blank=True)
    mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.MOCK)
    input = models.JSONField(null=True)
    headers = models.JSONField(default=dict)
    mocks = models.JSONField(default=list)
    expect = models.JSONField(default=dict)
    customer = models.ForeignKey("settings.Customer", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    environment = models.SlugField(max_length=50, blank=True)
    feedback = models.TextField(blank=True)
    approved = models.BooleanField(default=False)
    approved_by = models.CharField(max_length=255, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    last_result = models.ForeignKey(
        "TestCaseResult", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["workflow", "created_at", "id"], name="testcase_workflow")]

    def __str__(self) -> str:
        return f"{self.workflow_id} {self.name}"


class TestSuiteRun(models.Model):
    """Several test cases run together: "Run all", or a deploy gate."""

    __test__ = False

    class Purpose(models.TextChoices):
        MANUAL = "manual", "Run all"
        DEPLOY_GATE = "deploy_gate", "Deploy gate"

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        PASSED = "passed", "Passed"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="suite_runs")
    version_number = models.PositiveIntegerField(null=True, blank=True)  # None: the draft
    purpose = models.CharField(max_length=16, choices=Purpose.choices, default=Purpose.MANUAL)
    environment = models.SlugField(max_length=50, blank=True)  # the gate's target
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    total = models.PositiveIntegerField(default=0)
    passed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    created_by = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["workflow", "-created_at"], name="suiterun_workflow")]

    def __str__(self) -> str:
        return f"{self.workflow_id} suite {self.status} {self.passed}/{self.total}"

    @property
    def finished(self) -> int:
        return self.passed + self.failed


class TestCaseResult(models.Model):
    """One run of one test case: pass or fail, why, and what the run did."""

    __test__ = False

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    test_case = models.ForeignKey(TestCase, on_delete=models.CASCADE, related_name="results")
    suite = models.ForeignKey(TestSuiteRun, on_delete=models.CASCADE, null=True, blank=True, related_name="results")
    version_number = models.PositiveIntegerField(null=True, blank=True)  # None: the draft
    mode = models.CharField(max_length=8, choices=TestCase.Mode.choices)
    passed = models.BooleanField()
    failures = models.JSONField(default=list)
    # {"status", "output", "error", "logs", "logs_truncated", "duration_ms", "steps"}
    execution = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["test_case", "-created_at"], name="testresult_case")]

    def __str__(self) -> str:
        return f"{self.test_case_id} {'passed' if self.passed else 'failed'}"
