"""`make package` for every region Chairside deploys to: the SAM template passes cfn-lint and wires what matters.

The packaging runs once per stage/region (module-scoped fixture) with --skip-layer, so no network is needed.
"""

from __future__ import annotations

import fnmatch
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from chalicelib import resources as r
from infra import monitoring
from infra import template as t
from infra.http_api import HTTP_API, as_http_api
from infra.regions import REGIONS

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

TARGETS = [("dev", "ap-east-1"), ("dev", "ap-southeast-1"), ("prod", "eu-west-1")]

# Every variable resources.py names but the JWT secret itself: functions get its name and read it at run time.
ENV_NAMES = sorted({value for name, value in vars(r).items() if name.startswith("ENV_")} - {r.ENV_JWT_SECRET})


@dataclass(frozen=True)
class Packaged:
    stage: str
    region: str
    sam: Path
    template: dict[str, Any]

    @property
    def resources(self) -> dict[str, Any]:
        return self.template["Resources"]

    def of_type(self, type_: str) -> dict[str, Any]:
        return {logical: res for logical, res in self.resources.items() if res["Type"] == type_}

    def path(self, uri: str) -> Path:
        """A CodeUri/ContentUri as SAM resolves it: relative to the template's directory."""
        return (self.sam.parent / uri).resolve()


def package_target(stage: str, region: str, out: Path) -> Packaged:
    """`python -m infra.package --skip-layer` for one stage in one region, into `out` (also test_checkov.py)."""
    command = [sys.executable, "-m", "infra.package", "--stage", stage, "--region", region, "--skip-layer"]
    result = subprocess.run(
        [*command, "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    sam = out / f"{stage}-{region}" / "sam.json"
    assert str(sam) in result.stdout  # it says where the template is
    return Packaged(stage, region, sam, json.loads(sam.read_text()))


@pytest.fixture(scope="module", params=TARGETS, ids=[f"{s}-{reg}" for s, reg in TARGETS])
def packaged(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Packaged:
    stage, region = request.param
    return package_target(stage, region, tmp_path_factory.mktemp(f"package-{stage}-{region}"))


def _arn(logical: str) -> dict:
    return {"Fn::GetAtt": [logical, "Arn"]}


def _statements(policy_holder: dict) -> list[dict]:
    """Every statement of an AWS::IAM::Role's inline policies or an AWS::IAM::Policy."""
    props = policy_holder["Properties"]
    documents = [p["PolicyDocument"] for p in props.get("Policies", [])]
    if "PolicyDocument" in props:
        documents.append(props["PolicyDocument"])
    return [s for d in documents for s in d["Statement"]]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _grants(statements: list[dict], action: str) -> list[Any]:
    return [res for s in statements if action in _as_list(s["Action"]) for res in _as_list(s["Resource"])]


def _all_statements(node: Any) -> list[dict]:
    """Every policy statement anywhere in the template: roles, policies, queue/topic policies, Chalice's."""
    found: list[dict] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Statement":
                found += [s for s in _as_list(value) if isinstance(s, dict)]
            found += _all_statements(value)
    elif isinstance(node, list):
        for item in node:
            found += _all_statements(item)
    return found


def _allows(statement: dict, action: str) -> bool:
    """True when an Allow statement's Action (wildcards included) covers `action`."""
    if statement.get("Effect") != "Allow":
        return False
    if "NotAction" in statement:  # allows everything not listed
        return not any(fnmatch.fnmatch(action.lower(), a.lower()) for a in _as_list(statement["NotAction"]))
    return any(fnmatch.fnmatch(action.lower(), a.lower()) for a in _as_list(statement.get("Action", [])))


def test_the_template_passes_cfn_lint(packaged: Packaged) -> None:
    result = subprocess.run(
        [str(BIN / "cfn-lint"), "--regions", packaged.region, "--", str(packaged.sam)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_worker_reports_partial_batch_failures_to_its_queue(packaged: Packaged) -> None:
    for worker in r.WORKERS:
        props = packaged.resources[worker.logical]["Properties"]
        assert packaged.resources[worker.logical]["Type"] == "AWS::Serverless::Function"
        assert props["Handler"] == worker.handler
        assert props["Runtime"] == "python3.13"
        assert props["Architectures"] == ["arm64"]
        assert (props["MemorySize"], props["Timeout"]) == (worker.memory_mb, worker.timeout_seconds)
        assert packaged.path(props["CodeUri"]) == ROOT / "functions"
        assert props["Layers"] == [{"Ref": t.LAYER}]

        sqs_events = [e["Properties"] for e in props["Events"].values() if e["Type"] == "SQS"]
        assert len(sqs_events) == 1
        event = sqs_events[0]
        assert event["Queue"] == _arn(worker.queue.logical)
        assert event["BatchSize"] == worker.batch_size
        assert event["MaximumBatchingWindowInSeconds"] == worker.max_batching_window
        assert worker.report_batch_item_failures  # every worker returns batchItemFailures
        assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        # Bounded on the event source, not with reserved concurrency (see infra/checkov_skips.toml).
        assert event["ScalingConfig"] == {"MaximumConcurrency": worker.max_concurrency}
        assert 2 <= worker.max_concurrency <= 1000


def test_both_workers_exist_and_report_partial_batch_failures(packaged: Packaged) -> None:
    fed_by = {w.handler: w.queue for w in r.WORKERS}
    expected = {
        "send_step.handler": r.STEPS_QUEUE,
        "handle_inbound.handler": r.INBOUND_QUEUE,
        "care_tick.handler": r.CARE_TICKS_QUEUE,
    }
    assert expected.items() <= fed_by.items()  # and every worker, these and any other, is checked below
    for worker in r.WORKERS:
        [event] = packaged.resources[worker.logical]["Properties"]["Events"].values()
        assert event["Properties"]["Queue"] == _arn(worker.queue.logical)
        assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_every_topic_delivers_its_envelope_to_its_queue(packaged: Packaged) -> None:
    assert r.TOPICS
    queue_policies = packaged.of_type("AWS::SQS::QueuePolicy").values()
    for topic in r.TOPICS:
        resource = packaged.resources[topic.logical]
        assert resource["Type"] == "AWS::SNS::Topic"
        assert resource["Properties"]["TopicName"] == topic.name(packaged.stage)
        assert packaged.template["Outputs"][f"{topic.logical}Arn"] == {"Value": {"Ref": topic.logical}}

        subscriptions = [
            s["Properties"]
            for s in packaged.of_type("AWS::SNS::Subscription").values()
            if s["Properties"]["TopicArn"] == {"Ref": topic.logical}
        ]
        assert len(subscriptions) == 1
        [subscription] = subscriptions
        assert subscription["Protocol"] == "sqs"
        assert subscription["Endpoint"] == _arn(topic.queue.logical)
        # The worker parses the SNS envelope: raw delivery would hand it the bare message.
        assert subscription.get("RawMessageDelivery", False) in (False, "false")

        # SNS may send to the queue, and only from the topics that deliver to it.
        grants = [
            s
            for policy in queue_policies
            if {"Ref": topic.queue.logical} in policy["Properties"]["Queues"]
            for s in policy["Properties"]["PolicyDocument"]["Statement"]
            if s.get("Principal") == {"Service": "sns.amazonaws.com"}
        ]
        senders = [{"Ref": x.logical} for x in r.TOPICS if x.queue == topic.queue]
        assert [g["Condition"] for g in grants] == [{"ArnEquals": {"aws:SourceArn": s}} for s in senders]
        for grant in grants:
            assert grant["Effect"] == "Allow"
            assert _as_list(grant["Action"]) == ["sqs:SendMessage"]
            assert _as_list(grant["Resource"]) == [_arn(topic.queue.logical)]


def test_every_table_keeps_its_data(packaged: Packaged) -> None:
    for table in r.TABLES:
        resource = packaged.resources[table.logical]
        props = resource["Properties"]
        assert resource["Type"] == "AWS::DynamoDB::Table"
        assert props["TableName"] == table.name(packaged.stage)
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert props["DeletionProtectionEnabled"] is True
        assert props["SSESpecification"] == {"SSEEnabled": True}
        assert resource["DeletionPolicy"] == "Retain"
        assert [k["AttributeName"] for k in props["KeySchema"]] == [
            k for k in (table.hash_key, table.range_key) if k
        ]


def test_every_queue_redrives_to_its_dlq_after_the_spec_receive_count(packaged: Packaged) -> None:
    for queue in r.QUEUES:
        props = packaged.resources[queue.logical]["Properties"]
        dlq = packaged.resources[t.dlq_logical(queue)]
        assert props["QueueName"] == queue.name(packaged.stage)
        assert props["VisibilityTimeout"] == queue.visibility_timeout
        assert props["RedrivePolicy"] == {
            "deadLetterTargetArn": _arn(t.dlq_logical(queue)),
            "maxReceiveCount": queue.max_receive_count,
        }
        assert dlq["Type"] == "AWS::SQS::Queue"
        assert dlq["Properties"]["QueueName"] == queue.dlq_name(packaged.stage)
    for queue in r.PLAIN_QUEUES:
        props = packaged.resources[queue.logical]["Properties"]
        assert props["QueueName"] == queue.name(packaged.stage)
        assert "RedrivePolicy" not in props


def test_a_message_in_any_dead_letter_queue_raises_an_alarm(packaged: Packaged) -> None:
    alarms = [
        a
        for a in packaged.of_type("AWS::CloudWatch::Alarm").values()
        if a["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
    ]
    watched = {a["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0] for a in alarms}
    dlqs = {t.dlq_logical(q) for q in r.QUEUES} | {q.logical for q in r.PLAIN_QUEUES}
    assert watched == dlqs
    for alarm in alarms:
        props = alarm["Properties"]
        assert (props["Namespace"], props["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
        assert (props["ComparisonOperator"], props["Threshold"]) == ("GreaterThanThreshold", 0)
        assert props["AlarmActions"] == [{"Ref": t.ALARM_TOPIC}]

    email = REGIONS[packaged.region].alarm_email
    subscriptions = packaged.resources[t.ALARM_TOPIC]["Properties"].get("Subscription", [])
    assert [s["Endpoint"] for s in subscriptions] == ([email] if email else [])


def test_the_schedule_group_and_the_role_scheduler_delivers_with(packaged: Packaged) -> None:
    group = packaged.resources[t.SCHEDULE_GROUP]
    assert group["Type"] == "AWS::Scheduler::ScheduleGroup"
    assert group["Properties"]["Name"] == r.schedule_group_name(packaged.stage)

    role = packaged.resources[t.SCHEDULER_ROLE]
    trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "scheduler.amazonaws.com"}]
    statements = _statements(role)
    assert {a for s in statements for a in s["Action"]} == {"sqs:SendMessage"}
    assert _grants(statements, "sqs:SendMessage") == [
        _arn(r.STEPS_QUEUE.logical),
        _arn(r.SCHEDULER_DLQ.logical),
        _arn(r.CARE_TICKS_QUEUE.logical),
        _arn(r.WAITLIST_QUEUE.logical),  # a waitlist offer's expiry (services/waitlist.py)
    ]
    # The stores' recurring care schedules have a group of their own, and the role serves both groups only.
    care = packaged.resources[t.CARE_SCHEDULE_GROUP]
    assert care["Properties"]["Name"] == r.care_schedule_group_name(packaged.stage)
    [condition] = [s["Condition"] for s in trust]
    assert condition["ArnLike"]["aws:SourceArn"] == [_arn(t.SCHEDULE_GROUP), _arn(t.CARE_SCHEDULE_GROUP)]


def test_the_api_handler_has_the_layer_the_environment_and_its_permissions(packaged: Packaged) -> None:
    props = packaged.resources[t.CHALICE_HANDLER]["Properties"]
    assert props["Layers"] == [{"Ref": t.LAYER}]
    # Lambda's Python, whichever Python ran `chalice package`.
    assert (props["Runtime"], props["Architectures"]) == ("python3.13", ["arm64"])
    variables = props["Environment"]["Variables"]
    assert sorted(variables) == ENV_NAMES
    assert variables[r.ENV_STAGE] == packaged.stage
    # Members' links (texts, booking page, WeChat sign-in) need the stage's public origin on AWS too.
    assert variables[r.ENV_PUBLIC_BASE_URL] == REGIONS[packaged.region].public_base_url
    assert variables[r.ENV_PUBLIC_BASE_URL].startswith("https://")
    assert variables[r.ENV_MAIN_TABLE] == {"Ref": r.MAIN_TABLE.logical}
    assert variables[r.ENV_STEPS_QUEUE_URL] == {"Ref": r.STEPS_QUEUE.logical}
    assert variables[r.ENV_STEPS_QUEUE_ARN] == _arn(r.STEPS_QUEUE.logical)
    assert variables[r.ENV_STEPS_DLQ_URL] == {"Ref": t.dlq_logical(r.STEPS_QUEUE)}
    assert variables[r.ENV_INBOUND_QUEUE_URL] == {"Ref": r.INBOUND_QUEUE.logical}
    assert variables[r.ENV_SCHEDULE_GROUP] == {"Ref": t.SCHEDULE_GROUP}
    assert variables[r.ENV_SCHEDULER_ROLE_ARN] == _arn(t.SCHEDULER_ROLE)
    assert variables[r.ENV_SCHEDULER_DLQ_ARN] == _arn(r.SCHEDULER_DLQ.logical)
    # The HS256 secret is read from Secrets Manager at run time (cached), never resolved into the environment.
    assert variables[r.ENV_JWT_SECRET_NAME] == f"chairside/{packaged.stage}/jwt-secret"
    assert r.ENV_JWT_SECRET not in variables
    assert not any("jwt-secret}}" in json.dumps(v) for v in variables.values())

    # The extra policy is attached to the role the handler actually runs with.
    role = props["Role"]["Fn::GetAtt"][0]
    policy = packaged.resources[t.API_POLICY]
    assert policy["Properties"]["Roles"] == [{"Ref": role}]
    statements = _statements(policy)
    assert _grants(statements, "sqs:SendMessage") == [
        _arn(r.STEPS_QUEUE.logical),
        _arn(r.INBOUND_QUEUE.logical),
        _arn(r.CARE_QUEUE.logical),  # campaigns are fanned out through it
        _arn(r.WAITLIST_QUEUE.logical),  # time a booking change freed, for the waitlist
    ]
    assert _grants(statements, "sqs:ReceiveMessage") == []
    assert _grants(statements, "iam:PassRole") == [_arn(t.SCHEDULER_ROLE)]
    [secrets] = _grants(statements, "secretsmanager:GetSecretValue")
    assert secrets["Fn::Sub"].endswith(f"secret:chairside/{packaged.stage}/*")
    # The API answers members itself (generic message webhook, staff replies): SMS to any number.
    assert _grants(statements, "sns:Publish") == ["*"]
    assert {"Fn::Sub": f"${{{r.MAIN_TABLE.logical}.Arn}}/index/*"} in _grants(statements, "dynamodb:Query")


def test_every_function_gets_the_layer_and_the_environment(packaged: Packaged) -> None:
    functions = packaged.of_type("AWS::Serverless::Function")
    assert set(functions) == {t.CHALICE_HANDLER} | {w.logical for w in r.WORKERS} | {
        s.logical
        for s in r.LOG_SUBSCRIBERS  # SNS SMS delivery-status logs (issue 15)
    }
    for props in (f["Properties"] for f in functions.values()):
        assert props["Layers"] == [{"Ref": t.LAYER}]
        assert set(props["Environment"]["Variables"]) >= set(ENV_NAMES)

    layer = packaged.resources[t.LAYER]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
    assert (
        packaged.path(layer["Properties"]["ContentUri"]) / "python" / "chalicelib" / "resources.py"
    ).is_file()


def test_workers_get_only_what_they_use(packaged: Packaged) -> None:
    stage_secrets = f"secret:chairside/{packaged.stage}/*"
    for worker in r.WORKERS:
        statements = _statements(packaged.resources[f"{worker.logical}Role"])
        assert all("*" not in action for s in statements for action in s["Action"])
        for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"):
            assert _grants(statements, action) == [_arn(worker.queue.logical)]  # its own queue only
        # Its own queue (retry later), the steps queue (a reply can re-plan a journey), the inbound
        # queue (which any worker may feed) and its own DLQ.
        own = list(dict.fromkeys([worker.queue.logical, *(q.logical for q in t.WORKERS_SEND_TO)]))
        assert _grants(statements, "sqs:SendMessage") == [_arn(q) for q in own] + [
            _arn(t.dlq_logical(worker.queue))
        ]
        assert _grants(statements, "sns:Publish") == ["*"]  # SMS to phone numbers: no topic ARN to narrow to
        assert {"Fn::Sub": f"${{{r.MAIN_TABLE.logical}.Arn}}/index/*"} in _grants(
            statements, "dynamodb:Query"
        )
        assert _grants(statements, "iam:PassRole") == [_arn(t.SCHEDULER_ROLE)]
        [secrets] = _grants(statements, "secretsmanager:GetSecretValue")
        assert secrets["Fn::Sub"].endswith(stage_secrets)
        [schedules] = _grants(statements, "scheduler:CreateSchedule")
        assert schedules["Fn::Sub"].endswith(f"schedule/${{{t.SCHEDULE_GROUP}}}/*")
        # SES identities, and (issue 15) the configuration sets every email is sent with
        identities, configuration_sets = _grants(statements, "ses:SendEmail")
        assert f":ses:{REGIONS[packaged.region].email_region}:" in identities["Fn::Sub"]
        assert configuration_sets["Fn::Sub"].endswith(":configuration-set/chairside-*")


def test_the_inbound_worker_receives_only_from_the_inbound_queue(packaged: Packaged) -> None:
    [inbound] = [w for w in r.WORKERS if w.queue == r.INBOUND_QUEUE]
    [event] = packaged.resources[inbound.logical]["Properties"]["Events"].values()
    assert event["Properties"]["Queue"] == _arn(r.INBOUND_QUEUE.logical)
    statements = _statements(packaged.resources[f"{inbound.logical}Role"])
    assert _grants(statements, "sqs:ReceiveMessage") == [_arn(r.INBOUND_QUEUE.logical)]
    assert _grants(statements, "sqs:DeleteMessage") == [_arn(r.INBOUND_QUEUE.logical)]


def test_tables_and_their_indexes_are_queried_never_scanned(packaged: Packaged) -> None:
    holders = {**packaged.of_type("AWS::IAM::Role"), **packaged.of_type("AWS::IAM::Policy")}
    assert t.CHALICE_ROLE in holders and t.API_POLICY in holders
    query_grants = [g for h in holders.values() for g in _grants(_statements(h), "dynamodb:Query")]
    for table in r.TABLES:
        assert _arn(table.logical) in query_grants
        if table.indexes:
            assert {"Fn::Sub": f"${{{table.logical}.Arn}}/index/*"} in query_grants

    statements = _all_statements(packaged.template)
    assert len(statements) > len(holders)  # really walked every document, trust policies included
    assert [s for s in statements if _allows(s, "dynamodb:Scan")] == []
    # Nor through SAM policy templates or managed policies, whose actions the walk cannot see.
    for function in packaged.of_type("AWS::Serverless::Function").values():
        for policy in _as_list(function["Properties"].get("Policies", [])):
            if not (isinstance(policy, dict) and "Statement" in policy):  # a document is walked above
                assert "dynamodb" not in json.dumps(policy).lower()
    for holder in holders.values():
        assert not any(
            "dynamodb" in json.dumps(arn).lower() for arn in holder["Properties"].get("ManagedPolicyArns", [])
        )


def test_an_unconfigured_region_is_refused() -> None:
    with pytest.raises(ValueError, match="not configured"):
        t.merge_template("dev", "us-east-1")


def test_every_route_is_served_by_the_http_api_with_payload_format_1(packaged: Packaged) -> None:
    """Chalice's REST API became an HTTP API (infra/http_api.py): each of the app's routes and methods is a
    Lambda proxy integration of the API handler with payload format 1.0 (the event shape Chalice reads), and
    nothing is left of the REST API."""
    from app import app

    assert not packaged.of_type("AWS::Serverless::Api")
    assert "RestAPI" not in json.dumps(packaged.template)
    api = packaged.resources[HTTP_API]
    assert api["Type"] == "AWS::Serverless::HttpApi"
    assert api["Properties"]["StageName"] == monitoring.CHALICE_API_STAGE
    paths = api["Properties"]["DefinitionBody"]["paths"]
    served = {(path, method.upper()) for path, methods in paths.items() for method in methods}
    # the local stack's controls (chalicelib/api/local.py) exist only where a local directory is configured
    routes = {(path, method) for path, entry in app.routes.items() for method in entry}
    assert served == {(path, method) for path, method in routes if not path.startswith("/v1/_local/")}
    for methods in paths.values():
        for operation in methods.values():
            integration = operation["x-amazon-apigateway-integration"]
            assert integration["type"] == "aws_proxy"
            assert integration["payloadFormatVersion"] == "1.0"
            assert "${APIHandler.Arn}" in integration["uri"]["Fn::Sub"]
    endpoint = packaged.template["Outputs"]["EndpointURL"]["Value"]["Fn::Sub"]
    assert endpoint == "https://${HttpAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/api/"
    assert packaged.template["Outputs"]["HttpApiId"] == {"Value": {"Ref": HTTP_API}}


def test_only_lambda_proxy_routes_move_to_the_http_api() -> None:
    """A route the HTTP API could not serve the same way (e.g. a CORS mock) stops the packaging."""
    mock = {"x-amazon-apigateway-integration": {"type": "mock"}}
    sam = {
        "Resources": {
            "RestAPI": {
                "Type": "AWS::Serverless::Api",
                "Properties": {
                    "StageName": "api",
                    "DefinitionBody": {"info": {}, "paths": {"/x": {"options": mock}}},
                },
            }
        }
    }
    with pytest.raises(ValueError, match="OPTIONS /x"):
        as_http_api(sam)


def _strings(node: Any, key: str = "") -> list[tuple[str, str]]:
    """(the key it sits under, the string) for every string in a template."""
    if isinstance(node, dict):
        return [pair for k, v in node.items() for pair in _strings(v, k)]
    if isinstance(node, list):
        return [pair for item in node for pair in _strings(item, key)]
    return [(key, node)] if isinstance(node, str) else []


def test_the_template_is_partition_safe(packaged: Packaged) -> None:
    """Deployable in aws-cn (and aws-us-gov) unchanged: every ARN takes ${AWS::Partition}, every endpoint
    ${AWS::URLSuffix}; `amazonaws.com` appears only in service principals, which keep it in aws-cn."""
    for name in ("sam.json", "merge.json"):
        text = (packaged.sam.parent / name).read_text()
        assert "arn:aws:" not in text, name
        assert "arn:aws-cn:" not in text and "amazonaws.com.cn" not in text, name

    strings = _strings(packaged.template)
    arns = [s for _, s in strings if s.startswith("arn:")]
    assert arns and all(s.startswith(("arn:${AWS::Partition}:", "arn:*:")) for s in arns), arns
    in_principals = {"Service", "Principal", "iam:PassedToService"}
    assert [(k, s) for k, s in strings if "amazonaws.com" in s and k not in in_principals] == []


# ---------------------------------------------------------------- the layer's contents

# What the app formats with Babel (chalicelib/journeys/texts.py), for every locale it serves, on dates that
# cover every month and weekday name; run with only the given directories and the standard library on
# sys.path (-I -S: not even the venv), so the layer's own copy of babel is the one formatting.
_FORMAT = """
import json, sys
sys.path[:0] = sys.argv[1:]
from datetime import date, timedelta
from chalicelib.journeys import texts
days = [date(2026, 1, 5) + timedelta(days=31 * n + n) for n in range(12)]
print(json.dumps({locale: [texts._fmt_date(d, name) + " " + texts._fmt_weekday(d, name) for d in days]
                  for locale, name in texts.BABEL_LOCALES.items()}, ensure_ascii=False))
"""


def _formatted(*path: Path, isolated: bool = True) -> dict[str, list[str]]:
    flags = ["-I", "-S"] if isolated else []
    result = subprocess.run(
        [sys.executable, *flags, "-c", _FORMAT, *map(str, path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def full_babel() -> dict[str, list[str]]:
    """The same formatting with the venv's complete babel (the same version: both come from the locks)."""
    formatted = _formatted(ROOT, isolated=False)
    assert formatted["zh-CN"][0] == "1月5日 星期一" and formatted["en"][0] == "5 January Monday"
    assert len({day for days in formatted.values() for day in days}) == 24
    return formatted


def test_pruning_babel_keeps_what_the_served_locales_format(
    tmp_path: Path, full_babel: dict[str, list[str]]
) -> None:
    import babel

    from chalicelib.journeys import texts
    from infra.package import prune_babel

    python_dir = tmp_path / "python"
    shutil.copytree(Path(babel.__file__).parent, python_dir / "babel")
    data = python_dir / "babel" / "locale-data"
    before = len(list(data.glob("*.dat")))

    kept = prune_babel(python_dir, sorted(set(texts.BABEL_LOCALES.values())))

    assert sorted(p.name for p in data.glob("*.dat")) == kept
    assert "root.dat" in kept and {"zh_Hans_CN.dat", "en_GB.dat"} <= set(kept)
    assert before > 500 and len(kept) < 12
    assert _formatted(python_dir, ROOT) == full_babel
    # and a locale that is not served is really gone (a new one must be added to texts.BABEL_LOCALES)
    gone = subprocess.run(
        [
            sys.executable,
            "-I",
            "-S",
            "-c",
            f"import sys; sys.path.insert(0, {str(python_dir)!r}); "
            "from babel.dates import format_date; from datetime import date; format_date(date.today(), locale='fr_FR')",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert gone.returncode != 0 and "UnknownLocaleError" in gone.stderr


def test_the_layer_installs_the_hash_pinned_runtime_lock_for_lambdas_python_on_arm64(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from infra import package

    commands: list[list[str]] = []
    monkeypatch.setattr(package.subprocess, "run", lambda command, **_: commands.append(command))
    monkeypatch.setattr(
        package, "prune_babel", lambda python_dir, locales: commands.append(["prune", *locales])
    )
    monkeypatch.setattr(package, "prune_holidays", lambda python_dir: commands.append(["prune_holidays"]))
    monkeypatch.setattr(
        package, "prune_botocore", lambda python_dir, services: commands.append(["prune_botocore", *services])
    )

    package.build_layer(tmp_path / "layer", install_dependencies=True)

    [pip, prune, prune_holidays, prune_botocore] = commands
    assert prune_botocore == ["prune_botocore", *r.AWS_SERVICES]
    assert pip[1:4] == ["-m", "pip", "install"]
    assert {"--require-hashes", "--no-deps", "--only-binary=:all:"} <= set(pip)
    assert pip[pip.index("-r") + 1] == str(ROOT / "requirements" / "runtime-lock.txt")
    assert (pip[pip.index("--implementation") + 1], pip[pip.index("--python-version") + 1]) == ("cp", "3.13")
    platforms = [pip[i + 1] for i, arg in enumerate(pip) if arg == "--platform"]
    assert platforms[0] == "manylinux_2_34_aarch64"  # Amazon Linux 2023's glibc, Graviton
    assert all(p.endswith("_aarch64") for p in platforms) and "manylinux2014_aarch64" in platforms
    assert prune == ["prune", "en_GB", "zh_CN"] and prune_holidays == ["prune_holidays"]
    assert (tmp_path / "layer" / "python" / "chalicelib" / "resources.py").is_file()


LAYER_LIMIT_MB = 80  # issue 13: the shared layer unzipped (it was ~156 MB on python3.11 with jieba)


@pytest.fixture(scope="module")
def built_layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real layer (`make package` without the template): pip fetches the Lambda wheels from the registry."""
    from infra.package import build_layer

    return build_layer(tmp_path_factory.mktemp("layer") / "layer", install_dependencies=True) / "python"


def test_the_built_layer_is_lean_and_formats_what_the_app_formats(
    built_layer: Path, full_babel: dict[str, list[str]]
) -> None:
    size = sum(f.stat().st_size for f in built_layer.rglob("*") if f.is_file() and not f.is_symlink())
    assert size <= LAYER_LIMIT_MB * 2**20, f"{size / 2**20:.1f} MB"
    installed = {p.name.split("-")[0].lower() for p in built_layer.glob("*.dist-info")}
    assert {"phonenumberslite", "rjieba", "babel", "cryptography"} <= installed
    assert not {"phonenumbers", "jieba"} & installed
    assert not (built_layer / "phonenumbers" / "geodata").exists()
    assert not (built_layer / "jieba").exists()
    # aarch64 extension modules for CPython 3.13 (or the stable ABI), nothing built for this machine
    extensions = [p.name for p in built_layer.rglob("*.so")]
    assert extensions and all("aarch64" in n or ".abi3." in n for n in extensions), extensions
    assert any("cpython-313-aarch64" in n for n in extensions)
    assert _formatted(built_layer) == full_babel
    services = sorted(p.name for p in (built_layer / "botocore" / "data").iterdir() if p.is_dir())
    assert services == sorted(r.AWS_SERVICES)


def test_the_built_layer_ships_the_bytecode_a_cold_start_would_otherwise_compile(built_layer: Path) -> None:
    """Lambda's /opt is read-only: a module without its .pyc is compiled from source at every cold start."""
    import importlib.util

    for module in ("chalicelib/bootstrap.py", "pydantic/main.py", "aws_lambda_powertools/logging/logger.py"):
        source = built_layer / module
        pyc = Path(importlib.util.cache_from_source(str(source)))
        assert pyc.is_file(), module
        header = pyc.read_bytes()[:16]
        assert header[:4] == importlib.util.MAGIC_NUMBER  # this Python's, which is Lambda's (LAMBDA_PYTHON)
        assert int.from_bytes(header[4:8], "little") == 0b01  # hash-based, source not checked
    # the holidays library's per-country modules stay source: a sweep compiles the few it uses
    assert not list((built_layer / "holidays" / "countries").rglob("*.pyc"))


def test_the_apis_deployment_zip_ships_fresh_bytecode_for_every_module(packaged: Packaged) -> None:
    """app.py and chalicelib/ in deployment.zip come first on the API's sys.path, before the layer's copy."""
    import importlib.util
    import zipfile

    with zipfile.ZipFile(packaged.sam.parent / "deployment.zip") as bundle:
        names = set(bundle.namelist())
        sources = {n for n in names if n.endswith(".py")}
        compiled = {n for n in names if n.endswith(".pyc")}
        assert "app.py" in sources and "chalicelib/bootstrap.py" in sources
        expected = {importlib.util.cache_from_source(n) for n in sources}
        assert compiled == expected  # one per module, nothing left over from the checkout's __pycache__
        for name in ("__pycache__/app.cpython-313.pyc", "chalicelib/__pycache__/bootstrap.cpython-313.pyc"):
            header = bundle.read(name)[:8]
            assert header[:4] == importlib.util.MAGIC_NUMBER
            assert int.from_bytes(header[4:8], "little") == 0b01  # hash-based, source not checked


def test_pruning_the_holidays_library_keeps_the_english_names_holiday_greetings_read(tmp_path: Path) -> None:
    import holidays as library

    from infra.package import prune_holidays

    python_dir = tmp_path / "python"
    shutil.copytree(Path(library.__file__).parent, python_dir / "holidays")

    assert prune_holidays(python_dir) == ["en_US"]
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); import holidays;"
        "h = holidays.country_holidays('CN', years=2026, language='en_US');"
        "print(holidays.__file__.startswith(sys.argv[1]),"
        " sorted(d.isoformat() for d, n in h.items() if 'National Day' in n)[0])"
    )
    found = subprocess.run(  # the pruned copy first on sys.path (its dependency dateutil from the venv)
        [sys.executable, "-I", "-c", probe, str(python_dir)], capture_output=True, text=True, check=False
    )
    assert found.stdout.split() == ["True", "2026-10-01"], found.stderr


def test_pruning_botocore_keeps_a_working_client_of_every_service_the_functions_use(tmp_path: Path) -> None:
    import botocore

    from infra.package import prune_botocore

    python_dir = tmp_path / "python"
    shutil.copytree(Path(botocore.__file__).parent, python_dir / "botocore")

    assert prune_botocore(python_dir, r.AWS_SERVICES) == sorted(r.AWS_SERVICES)
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); import botocore.session;"
        "from botocore.exceptions import UnknownServiceError; s = botocore.session.get_session();"
        "print(botocore.__file__.startswith(sys.argv[1]));"
        "[s.create_client(n, region_name='eu-west-1', aws_access_key_id='k', aws_secret_access_key='s')"
        " for n in sys.argv[2:]]; print('built');"
        "\ntry: s.create_client('s3', region_name='eu-west-1')\nexcept UnknownServiceError: print('s3 gone')"
    )
    found = subprocess.run(  # the pruned copy first on sys.path (its dependencies from the venv)
        [sys.executable, "-I", "-c", probe, str(python_dir), *r.AWS_SERVICES],
        capture_output=True,
        text=True,
        check=False,
    )
    assert found.stdout.split("\n")[:3] == ["True", "built", "s3 gone"], found.stderr
    with pytest.raises(RuntimeError, match="no-such-service"):
        prune_botocore(python_dir, ("dynamodb", "no-such-service"))


def test_the_container_builds_no_client_the_layer_has_no_model_for() -> None:
    import dataclasses

    from chalicelib import bootstrap
    from chalicelib.clock import SystemClock
    from chalicelib.settings import Settings

    required = [f.name for f in dataclasses.fields(Settings) if f.default is dataclasses.MISSING]
    settings = Settings(**{name: "eu-west-1" if name == "region" else "x" for name in required})
    container = bootstrap.Container(settings, SystemClock())
    with pytest.raises(ValueError, match="AWS_SERVICES"):
        container.client("s3")


# ---------------------------------------------------------------- monitoring (issue 17 §2)


def _alarms_on(packaged: Packaged, namespace: str, metric: str) -> list[dict]:
    return [
        a["Properties"]
        for a in packaged.of_type("AWS::CloudWatch::Alarm").values()
        if (a["Properties"]["Namespace"], a["Properties"]["MetricName"]) == (namespace, metric)
    ]


def _watched(alarms: list[dict], dimension: str) -> list[Any]:
    return sorted(
        json.dumps(d["Value"], sort_keys=True)
        for a in alarms
        for d in a["Dimensions"]
        if d["Name"] == dimension
    )


def test_every_function_has_an_errors_and_a_throttles_alarm(packaged: Packaged) -> None:
    functions = packaged.of_type("AWS::Serverless::Function")
    assert t.CHALICE_HANDLER in functions and len(functions) == len(r.WORKERS) + len(r.LOG_SUBSCRIBERS) + 1
    expected = sorted(json.dumps({"Ref": logical}) for logical in functions)
    for metric in ("Errors", "Throttles"):
        alarms = _alarms_on(packaged, "AWS/Lambda", metric)
        assert _watched(alarms, "FunctionName") == expected, metric
        for alarm in alarms:
            assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)
            assert alarm["AlarmActions"] == [{"Ref": t.ALARM_TOPIC}]


def test_every_worker_queue_alarms_on_its_oldest_message(packaged: Packaged) -> None:
    alarms = _alarms_on(packaged, "AWS/SQS", "ApproximateAgeOfOldestMessage")
    queues = {w.queue.logical for w in r.WORKERS}
    assert _watched(alarms, "QueueName") == sorted(
        json.dumps({"Fn::GetAtt": [q, "QueueName"]}, sort_keys=True) for q in queues
    )
    assert all(a["Threshold"] > 0 and a["Statistic"] == "Maximum" for a in alarms)
    assert all(a["AlarmActions"] == [{"Ref": t.ALARM_TOPIC}] for a in alarms)


def test_every_table_alarms_on_read_and_write_throttles(packaged: Packaged) -> None:
    for metric in ("ReadThrottleEvents", "WriteThrottleEvents"):
        alarms = _alarms_on(packaged, "AWS/DynamoDB", metric)
        assert _watched(alarms, "TableName") == sorted(
            json.dumps({"Ref": table.logical}) for table in r.TABLES
        )


def test_the_api_alarms_on_5xx(packaged: Packaged) -> None:
    [alarm] = _alarms_on(packaged, "AWS/ApiGateway", "5xx")
    dims = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
    assert dims == {
        "ApiId": {"Ref": HTTP_API},
        "Stage": packaged.resources[HTTP_API]["Properties"]["StageName"],
    }


def test_every_function_logs_into_a_group_with_the_regions_retention(packaged: Packaged) -> None:
    groups = packaged.of_type("AWS::Logs::LogGroup").values()
    names = [json.dumps(g["Properties"]["LogGroupName"]) for g in groups]
    for logical, function in packaged.of_type("AWS::Serverless::Function").items():
        name = function["Properties"].get("FunctionName")
        expected = f"/aws/lambda/{name}" if name else {"Fn::Sub": f"/aws/lambda/${{{logical}}}"}
        assert json.dumps(expected) in names, logical
    retention = REGIONS[packaged.region].log_retention_days
    assert all(g["Properties"]["RetentionInDays"] == retention for g in groups)


def test_the_dashboard_charts_every_emitted_metric_and_every_function(packaged: Packaged) -> None:
    from chalicelib import metrics as m

    [dashboard] = packaged.of_type("AWS::CloudWatch::Dashboard").values()
    body = json.loads(dashboard["Properties"]["DashboardBody"]["Fn::Sub"])
    charted = [line for w in body["widgets"] for line in w["properties"]["metrics"]]
    emf = {line[1] for line in charted if line[0] == "Chairside"}
    assert emf == set(m.ALL)
    assert all(
        line[2:] == ["service", "chairside", "stage", packaged.stage]
        for line in charted
        if line[0] == "Chairside"
    )
    assert {line[3] for line in charted if line[:2] == ["AWS/Lambda", "Errors"]} == {
        f"${{{logical}}}" for logical in packaged.of_type("AWS::Serverless::Function")
    }
    assert {line[3] for line in charted if line[1] == "ApproximateNumberOfMessagesVisible"} == {
        name for _, name in t.dead_letter_queues(packaged.stage)
    }
