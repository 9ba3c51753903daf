"""What operators watch (issue 17 §2): the API handler's log group with a retention, alarms and a dashboard.

Generated from the one resource definition (chalicelib/resources.py), never hand-listed: every function (the
`functions/` workers, the log subscribers and Chalice's API handler) gets an Errors and a Throttles alarm, every
queue an ApproximateAgeOfOldestMessage alarm, every table a read- and a write-throttle alarm, and the API one on
5xx. (Every dead-letter queue's depth alarm and the workers' log groups are made in infra/template.py.) All
alarms notify the stack's alarm topic (`template.ALARM_TOPIC`, mailed per region as infra/regions.py says).
The dashboard shows the business counts the code emits as EMF (chalicelib/metrics.py) beside the same AWS metrics.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib import metrics as m
from chalicelib import resources as r
from chalicelib.observability import NAMESPACE, SERVICE
from infra.http_api import HTTP_API
from infra.regions import Region

Json = dict[str, Any]

# Logical ids the merge template patches or adds (also read by tests/integration/test_package.py).
CHALICE_HANDLER = "APIHandler"
CHALICE_API_STAGE = "api"  # .chalice/config.json api_gateway_stage of the deployed stages
# The HTTP API that serves Chalice's routes (infra/http_api.py): its metrics are named by ApiId and Stage.
API_DIMENSIONS = [
    {"Name": "ApiId", "Value": {"Ref": HTTP_API}},
    {"Name": "Stage", "Value": CHALICE_API_STAGE},
]
API_LOG_GROUP = f"{CHALICE_HANDLER}LogGroup"
DASHBOARD = "OperationsDashboard"

# An SQS message older than this means its worker is not keeping up (or failing and retrying).
QUEUE_AGE_ALARM_SECONDS = 15 * 60
PERIOD = 300


def functions() -> list[str]:
    """The logical id of every Lambda function of the stack."""
    return [*(w.logical for w in r.WORKERS), *(s.logical for s in r.LOG_SUBSCRIBERS), CHALICE_HANDLER]


def queues() -> list[r.Queue]:
    """Every queue a worker reads (their DLQs are watched for depth in infra/template.py)."""
    return list(dict.fromkeys(w.queue for w in r.WORKERS))


def _alarm(
    name: str,
    description: str,
    namespace: str,
    metric: str,
    dimensions: list[Json],
    topic: str,
    *,
    threshold: float = 0,
    statistic: str = "Sum",
    period: int = PERIOD,
) -> Json:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmName": name,
            "AlarmDescription": description,
            "Namespace": namespace,
            "MetricName": metric,
            "Dimensions": dimensions,
            "Statistic": statistic,
            "Period": period,
            "EvaluationPeriods": 1,
            "Threshold": threshold,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": [{"Ref": topic}],
            "OKActions": [{"Ref": topic}],
        },
    }


def api_log_group(region: Region) -> Json:
    """Chalice's function gets no log group of its own: without this one Lambda creates it, kept forever."""
    return {
        API_LOG_GROUP: {
            "Type": "AWS::Logs::LogGroup",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {
                "LogGroupName": {"Fn::Sub": f"/aws/lambda/${{{CHALICE_HANDLER}}}"},
                "RetentionInDays": region.log_retention_days,
            },
        }
    }


def alarms(stage: str, topic: str) -> Json:
    prefix = f"{r.PREFIX}-{stage}"
    resources: Json = {}
    for logical in functions():
        function = [{"Name": "FunctionName", "Value": {"Ref": logical}}]
        for metric in ("Errors", "Throttles"):
            resources[f"{logical}{metric}Alarm"] = _alarm(
                f"{prefix}-{logical}-{metric.lower()}",
                f"{logical} reported {metric.lower()} (Lambda {metric}).",
                "AWS/Lambda",
                metric,
                function,
                topic,
            )
    for queue in queues():
        resources[f"{queue.logical}AgeAlarm"] = _alarm(
            f"{queue.name(stage)}-oldest-message",
            f"A message has waited over {QUEUE_AGE_ALARM_SECONDS // 60} minutes in {queue.name(stage)}.",
            "AWS/SQS",
            "ApproximateAgeOfOldestMessage",
            [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue.logical, "QueueName"]}}],
            topic,
            threshold=QUEUE_AGE_ALARM_SECONDS,
            statistic="Maximum",
            period=60,
        )
    for table in r.TABLES:
        for metric in ("ReadThrottleEvents", "WriteThrottleEvents"):
            resources[f"{table.logical}{metric}Alarm"] = _alarm(
                f"{table.name(stage)}-{metric}",
                f"DynamoDB throttled requests to {table.name(stage)} ({metric}).",
                "AWS/DynamoDB",
                metric,
                [{"Name": "TableName", "Value": {"Ref": table.logical}}],
                topic,
            )
    resources["Api5xxAlarm"] = _alarm(
        f"{prefix}-api-5xx",
        "The HTTP API answered with a 5xx.",
        "AWS/ApiGateway",
        "5xx",
        API_DIMENSIONS,
        topic,
    )
    return resources


# ---------------------------------------------------------------- the dashboard


def _widget(title: str, metrics: list[list[Any]], x: int, y: int, stat: str = "Sum", width: int = 12) -> Json:
    return {
        "type": "metric",
        "x": x,
        "y": y,
        "width": width,
        "height": 6,
        "properties": {
            "title": title,
            "region": "${AWS::Region}",
            "stat": stat,
            "period": PERIOD,
            "view": "timeSeries",
            "metrics": metrics,
        },
    }


def dashboard_body(stage: str, dlqs: list[str]) -> str:
    """The dashboard's JSON, with ${Logical} references for Fn::Sub to resolve (names CloudFormation picks)."""
    business = [[NAMESPACE, name, "service", SERVICE, "stage", stage] for name in m.ALL]
    fns = functions()
    widgets = [
        _widget("Messages, replies and bookings (EMF)", business, 0, 0, width=24),
        _widget("Lambda errors", [["AWS/Lambda", "Errors", "FunctionName", f"${{{f}}}"] for f in fns], 0, 6),
        _widget(
            "Lambda throttles", [["AWS/Lambda", "Throttles", "FunctionName", f"${{{f}}}"] for f in fns], 12, 6
        ),
        _widget(
            "Lambda duration p90",
            [["AWS/Lambda", "Duration", "FunctionName", f"${{{f}}}"] for f in fns],
            0,
            12,
            stat="p90",
        ),
        _widget(
            "API requests and errors",
            [
                ["AWS/ApiGateway", name, "ApiId", f"${{{HTTP_API}}}", "Stage", CHALICE_API_STAGE]
                for name in ("Count", "4xx", "5xx")
            ],
            12,
            12,
        ),
        _widget(
            "Oldest message per queue (s)",
            [
                ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", f"${{{q.logical}.QueueName}}"]
                for q in queues()
            ],
            0,
            18,
            stat="Maximum",
        ),
        _widget(
            "Dead-letter queue depth",
            [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", name] for name in dlqs],
            12,
            18,
            stat="Maximum",
        ),
        _widget(
            "DynamoDB throttles and capacity",
            [
                ["AWS/DynamoDB", name, "TableName", f"${{{t.logical}}}"]
                for t in r.TABLES
                for name in (
                    "ReadThrottleEvents",
                    "WriteThrottleEvents",
                    "ConsumedReadCapacityUnits",
                    "ConsumedWriteCapacityUnits",
                )
            ],
            0,
            24,
            width=24,
        ),
    ]
    return json.dumps({"widgets": widgets}, separators=(",", ":"))


def dashboard(stage: str, dlqs: list[str]) -> Json:
    return {
        DASHBOARD: {
            "Type": "AWS::CloudWatch::Dashboard",
            "Properties": {
                # Dashboards are global to the account: the name carries the region.
                "DashboardName": {"Fn::Sub": f"{r.PREFIX}-{stage}-${{AWS::Region}}"},
                "DashboardBody": {"Fn::Sub": dashboard_body(stage, dlqs)},
            },
        }
    }


def monitoring(stage: str, region: Region, topic: str, dlqs: list[str]) -> Json:
    """Everything above, for one stage in one region; `dlqs`: the names of the dead-letter queues to chart."""
    return {**api_log_group(region), **alarms(stage, topic), **dashboard(stage, dlqs)}
