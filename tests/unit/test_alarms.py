"""The alarms in infra/template.json watch what the runbook says, with the names the app really emits, and
every one of them notifies the alarm topic, which mails the AlarmEmail parameter when it is given."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chalicelib import observability

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = json.loads((ROOT / "infra" / "template.json").read_text(encoding="utf-8"))
CONFIG = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
ALARMS = {lid: r["Properties"] for lid, r in TEMPLATE["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"}
TOPIC = [{"Ref": "AlarmTopic"}]


def alarm_on(namespace: str, metric: str) -> dict[str, Any]:
    (found,) = [p for p in ALARMS.values() if (p["Namespace"], p["MetricName"]) == (namespace, metric)]
    return found


@pytest.mark.parametrize("logical_id", sorted(ALARMS))
def test_every_alarm_notifies_the_alarm_topic_when_it_fires_and_when_it_clears(logical_id: str) -> None:
    props = ALARMS[logical_id]
    assert props["AlarmActions"] == TOPIC and props["OKActions"] == TOPIC
    assert props["TreatMissingData"] == "notBreaching"  # a quiet week is not an incident


def test_the_alarm_topic_mails_the_alarm_email_parameter_when_it_is_given() -> None:
    subscription = TEMPLATE["Resources"]["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"] == {
        "TopicArn": {"Ref": "AlarmTopic"},
        "Protocol": "email",
        "Endpoint": {"Ref": "AlarmEmail"},
    }
    assert TEMPLATE["Conditions"]["HasAlarmEmail"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}


@pytest.mark.parametrize("dlq_id", ["SendDeadLetterQueue", "FeedbackDeadLetterQueue"])
def test_a_message_in_either_dead_letter_queue_alarms(dlq_id: str) -> None:
    queue = [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq_id, "QueueName"]}}]
    (dlq,) = [
        p
        for p in ALARMS.values()
        if (p["Namespace"], p["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
        and p["Dimensions"] == queue
    ]
    assert (dlq["ComparisonOperator"], dlq["Threshold"]) == ("GreaterThanThreshold", 0)


def test_every_dead_letter_queue_has_its_alarm() -> None:
    dlqs = {
        r["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for r in TEMPLATE["Resources"].values()
        if r["Type"] == "AWS::SQS::Queue" and "RedrivePolicy" in r["Properties"]
    }
    watched = {
        p["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for p in ALARMS.values()
        if (p["Namespace"], p["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    }
    assert dlqs == watched == {"SendDeadLetterQueue", "FeedbackDeadLetterQueue"}


@pytest.mark.parametrize(
    ("metric", "threshold"), [("Reputation.BounceRate", 0.04), ("Reputation.ComplaintRate", 0.0008)]
)
def test_ses_reputation_alarms_before_aws_reviews_the_account(metric: str, threshold: float) -> None:
    rate = alarm_on("AWS/SES", metric)
    assert (rate["ComparisonOperator"], rate["Threshold"]) == ("GreaterThanOrEqualToThreshold", threshold)


def test_an_email_ses_refused_for_good_alarms_on_the_metric_the_sender_emits() -> None:
    failed = alarm_on(CONFIG["environment_variables"]["POWERTOOLS_METRICS_NAMESPACE"], "EmailsFailed")
    assert failed["Dimensions"] == [{"Name": "service", "Value": observability.SERVICE}]
    assert (failed["Statistic"], failed["ComparisonOperator"], failed["Threshold"]) == (
        "Sum",
        "GreaterThanThreshold",
        0,
    )
    handlers = (ROOT / "chalicelib" / "jobs" / "handlers.py").read_text(encoding="utf-8")
    assert '"EmailsFailed"' in handlers


def test_the_sender_lambdas_errors_alarm_by_the_name_chalice_deploy_gives_it() -> None:
    errors = alarm_on("AWS/Lambda", "Errors")
    assert errors["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "SenderFunctionName"}}]
    default = TEMPLATE["Parameters"]["SenderFunctionName"]["Default"]
    assert default == f"{CONFIG['app_name']}-dev-sender"  # chalice deploy: <app_name>-<stage>-<handler name>
    # make deploy passes each stage's own sender (deploy/deploying.py), named as Chalice names it.
    from deploy.deploying import Options, stack_parameters
    from deploy.stage import Stage

    prod = Stage.named("prod")
    assert stack_parameters(prod, Options(sender="surveys@example.org"), {})["SenderFunctionName"] == (
        f"{CONFIG['app_name']}-prod-sender"
    )
    handlers = (ROOT / "chalicelib" / "jobs" / "handlers.py").read_text(encoding="utf-8")
    assert 'name="sender"' in handlers
    # A lone error is a throttling retry by design; two bad periods out of three are not.
    assert (errors["EvaluationPeriods"], errors["DatapointsToAlarm"], errors["Threshold"]) == (3, 2, 1)
