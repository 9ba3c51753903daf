"""The email resources of the merged template (issue 15 §5), read from resources.py: the configuration set, its
event destination to the email events topic (subscribed to the worker's queue), and the rights around them.
cfn-lint of the whole packaged template: tests/integration/test_package.py."""

from __future__ import annotations

from chalicelib import resources as r
from infra import template as t

CONFIG = r.EMAIL_CONFIGURATION_SET


def test_the_configuration_set_publishes_bounces_complaints_and_deliveries_to_the_events_topic():
    resources = t.merge_template("dev", "ap-southeast-1")["Resources"]

    config = resources[CONFIG.logical]
    assert config["Type"] == "AWS::SES::ConfigurationSet"
    assert config["Properties"]["Name"] == "chairside-dev-email"
    assert config["Properties"]["SuppressionOptions"] == {"SuppressedReasons": ["BOUNCE", "COMPLAINT"]}
    destination = resources[f"{CONFIG.logical}EventDestination"]["Properties"]
    assert destination["ConfigurationSetName"] == {"Ref": CONFIG.logical}
    assert set(destination["EventDestination"]["MatchingEventTypes"]) >= {"bounce", "complaint", "delivery"}
    assert destination["EventDestination"]["SnsDestination"] == {
        "TopicARN": {"Ref": r.EMAIL_EVENTS_TOPIC.logical}
    }
    subscription = resources[t.subscription_logical(r.EMAIL_EVENTS_TOPIC)]["Properties"]
    assert subscription["Endpoint"] == {"Fn::GetAtt": [r.EMAIL_EVENTS_QUEUE.logical, "Arn"]}
    policy = resources[f"{r.EMAIL_EVENTS_TOPIC.logical}Policy"]["Properties"]["PolicyDocument"]["Statement"]
    assert [s["Principal"] for s in policy] == [{"Service": "ses.amazonaws.com"}]


def test_every_function_sends_with_the_configuration_set_and_may():
    template = t.merge_template("dev", "ap-southeast-1")
    env = t.environment("dev", t.region_settings("ap-southeast-1"))
    statements = t._send_to_members(t.region_settings("ap-southeast-1"))

    assert env[r.ENV_EMAIL_CONFIGURATION_SET] == "chairside-dev-email"
    (send_email,) = [s for s in statements if s["Sid"] == "SendEmail"]
    assert any("configuration-set/chairside-*" in str(resource) for resource in send_email["Resource"])
    worker = template["Resources"]["EmailEventsFunction"]
    assert worker["Properties"]["Handler"] == "email_events.handler"


def test_a_region_that_sends_email_from_another_region_holds_no_ses_resources():
    """ap-east-1 has no SES: its email goes through ap-southeast-1, where this stack cannot make resources."""
    resources = t.merge_template("dev", "ap-east-1")["Resources"]
    env = t.environment("dev", t.region_settings("ap-east-1"))

    assert CONFIG.logical not in resources
    assert env[r.ENV_EMAIL_CONFIGURATION_SET] == ""
