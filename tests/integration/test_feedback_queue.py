"""SES feedback goes through a queue (issue 13, defect 8): SNS used to invoke ``ses_feedback`` asynchronously,
so after Lambda's two retries a bounce or complaint was gone and the bounced address could be mailed again.

Now the feedback topic delivers to an SQS queue (raw message delivery: the body is SES's own JSON) with a
dead-letter queue behind it and an alarm on that DLQ, and ``ses_feedback`` is that queue's Lambda trigger, one
notification per invocation: a notification the store cannot take now stays on the queue and comes back; one
that can never be read reaches the DLQ after maxReceiveCount receives; the others are not held up by either.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.support.api import event_ending, funnel, import_rows, make_wave, participants, run_schedule, send_route
from tests.support.clock import at
from tests.support.data import YEAR, row
from tests.support.machines import DynamoFaults
from tests.support.mail import Mailbox, deliver_feedback, publish_ses_events, recipient, to_set
from tests.support.template import RESOURCES, TEMPLATE_JSON

CONFIG = Path(__file__).resolve().parents[2] / ".chalice" / "config.json"
BOUNCE = "bounce@simulator.amazonses.com"
FINE = "fine@example.org"


def _logical(ref: Any) -> str:
    """The logical id a ``Ref`` or ``Fn::GetAtt`` names."""
    if "Ref" in ref:
        return str(ref["Ref"])
    return str(ref["Fn::GetAtt"][0])


def _feedback_subscription() -> dict[str, Any]:
    subs = [
        r["Properties"]
        for r in RESOURCES.values()
        if r["Type"] == "AWS::SNS::Subscription" and r["Properties"].get("TopicArn") == {"Ref": "FeedbackTopic"}
    ]
    assert len(subs) == 1, "the feedback topic has no subscription (or more than one) in the template"
    return subs[0]


# (a) the template and the app's event sources ---------------------------------------------------------------


def test_the_feedback_topic_delivers_to_a_queue_with_a_dead_letter_queue_and_an_alarm_on_it() -> None:
    sub = _feedback_subscription()
    assert sub["Protocol"] == "sqs"
    assert sub["RawMessageDelivery"] is True  # the body is SES's JSON; ses_feedback reads it as such
    queue_id = _logical(sub["Endpoint"])
    assert sub["Endpoint"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    queue = RESOURCES[queue_id]
    assert queue["Type"] == "AWS::SQS::Queue"
    redrive = queue["Properties"]["RedrivePolicy"]
    dlq_id = _logical(redrive["deadLetterTargetArn"])
    assert RESOURCES[dlq_id]["Type"] == "AWS::SQS::Queue" and dlq_id != queue_id
    assert 3 <= redrive["maxReceiveCount"] <= 10
    # Six times the function's timeout, as AWS advises for a queue that triggers a Lambda function.
    config = json.loads(CONFIG.read_text(encoding="utf-8"))
    timeout = config["lambda_functions"]["ses_feedback"]["lambda_timeout"]
    assert queue["Properties"]["VisibilityTimeout"] >= 6 * timeout
    dlq = RESOURCES[dlq_id]["Properties"]
    assert dlq["MessageRetentionPeriod"] >= queue["Properties"].get("MessageRetentionPeriod", 345600)

    # Only the feedback topic may send to the queue (the confused deputy: aws:SourceArn pins it).
    (policy,) = [
        r["Properties"]
        for r in RESOURCES.values()
        if r["Type"] == "AWS::SQS::QueuePolicy" and {"Ref": queue_id} in r["Properties"]["Queues"]
    ]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow" and statement["Principal"] == {"Service": "sns.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Resource"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Ref": "FeedbackTopic"}}}

    # A message in the feedback DLQ alarms, to the alarm topic, as the send DLQ does.
    (alarm,) = [
        r["Properties"]
        for r in RESOURCES.values()
        if r["Type"] == "AWS::CloudWatch::Alarm"
        and r["Properties"].get("Dimensions") == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq_id, "QueueName"]}}]
    ]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}] == alarm["OKActions"]
    outputs = TEMPLATE_JSON["Outputs"]
    assert {"FeedbackQueueUrl", "FeedbackQueueArn", "FeedbackQueueName", "FeedbackDeadLetterQueueUrl"} <= set(outputs)


def test_ses_feedback_is_triggered_by_the_feedback_queue_not_by_the_topic() -> None:
    from chalice.app import SNSEventConfig, SQSEventConfig

    from app import app
    from chalicelib import wiring

    sources = [s for s in app.event_sources if s.name == "ses_feedback"]
    assert len(sources) == 1
    (source,) = sources
    assert isinstance(source, SQSEventConfig), f"ses_feedback is triggered by {type(source).__name__}"
    assert source.queue == wiring.FEEDBACK_QUEUE == "event-feedback-ses-feedback"
    assert source.batch_size == 1  # Chalice has no partial batch report: one record per invocation
    assert not [s for s in app.event_sources if isinstance(s, SNSEventConfig)]


# (b) what happens to a bounce when the store is busy ---------------------------------------------------------


@pytest.fixture
def bounced(client, tokens, stack, clock) -> dict[str, Any]:
    """An event with a bouncing and a fine participant, a wave with a reminder in three days, invitations sent."""
    admin = tokens["admin"]
    ends = date(YEAR, 6, 10)
    clock.now = at(ends, "12:00")
    event_id = event_ending(client, admin, ends)
    import_rows(client, admin, event_id, [row(BOUNCE), row(FINE)])
    wave_id = make_wave(client, admin, event_id, reminders=[3])
    send_route(client, admin, event_id, wave_id)
    stack.deliver()
    box = Mailbox(stack)
    assert to_set(box.new()) == {BOUNCE, FINE}
    return {"event": event_id, "wave": wave_id, "box": box}


def _queue(stack, name: str) -> list[str]:
    sqs = boto3.client("sqs", region_name="us-east-1")
    attrs = sqs.get_queue_attributes(QueueUrl=stack.outputs[name], AttributeNames=["All"])["Attributes"]
    return [attrs["ApproximateNumberOfMessages"], attrs["ApproximateNumberOfMessagesNotVisible"]]


def test_a_bounce_the_store_cannot_take_stays_queued_and_is_applied_when_it_comes_back(
    client, tokens, stack, clock, bounced
):
    admin, viewer = tokens["admin"], tokens["viewer"]
    event_id, wave_id, box = bounced["event"], bounced["wave"], bounced["box"]
    # SES publishes to the topic; the topic delivers to the queue (moto delivers SNS to SQS as AWS does).
    assert publish_ses_events(stack, box.all) == 2
    assert _queue(stack, "FeedbackQueueUrl") == ["2", "0"]

    faults = DynamoFaults()
    with faults.installed():
        faults.throttle(10_000, "ProvisionedThroughputExceededException", ("PutItem",))  # the suppression write
        first = deliver_feedback(client, stack)
        faults.clear()
    # The delivery is applied; the bounce failed its invocation and is on the queue again, not lost.
    assert first.failed == 1 and first.outcomes == [["delivered"]]
    assert _queue(stack, "FeedbackQueueUrl") == ["1", "0"]
    assert _queue(stack, "FeedbackDeadLetterQueueUrl") == ["0", "0"]

    again = deliver_feedback(client, stack)  # its visibility timeout is over: the trigger hands it over again
    assert again.failed == 0 and sorted(again.outcomes[0]) == ["bounced", "suppressed"]
    assert _queue(stack, "FeedbackQueueUrl") == ["0", "0"]
    assert funnel(client, viewer, event_id, wave_id)["bounced"] == 1
    assert participants(client, admin, event_id)[BOUNCE]["waves"][wave_id]["bounced"] is True

    # The reminder goes to the fine participant only: the bounced address is never mailed again.
    clock.now += timedelta(days=4)
    run_schedule(client)
    stack.deliver()
    assert to_set(box.new()) == {FINE}


def test_a_bounce_redelivered_after_it_was_applied_changes_nothing(client, tokens, stack, bounced):
    box = bounced["box"]
    bounce = [m for m in box.all if recipient(m) == BOUNCE]
    publish_ses_events(stack, bounce)
    publish_ses_events(stack, bounce)  # SNS and SQS deliver at least once
    done = deliver_feedback(client, stack)
    assert done.failed == 0
    assert sorted(o for outcome in done.outcomes for o in outcome) == ["bounced", "suppressed"]
    assert funnel(client, tokens["viewer"], bounced["event"], bounced["wave"])["bounced"] == 1


def test_an_unreadable_notification_is_retried_then_dead_lettered_without_holding_up_the_others(
    client, tokens, stack, bounced, caplog
):
    sns = boto3.client("sns", region_name="us-east-1")
    sns.publish(TopicArn=stack.outputs["FeedbackTopicArn"], Message="{not json, but from bounce@example.org")
    publish_ses_events(stack, bounced["box"].all)
    redrive = int(RESOURCES["FeedbackQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"])
    outcomes: list[list[str]] = []
    with caplog.at_level(logging.ERROR):
        for _ in range(redrive):
            done = deliver_feedback(client, stack)
            assert done.failed == 1  # the unreadable one, each time; never the others
            outcomes += done.outcomes
    assert sorted(o for outcome in outcomes for o in outcome) == ["bounced", "delivered", "suppressed"]
    # One more receive moves it to the DLQ (SQS does so on the receive after maxReceiveCount).
    assert deliver_feedback(client, stack).failed == 0
    assert _queue(stack, "FeedbackQueueUrl") == ["0", "0"]
    assert _queue(stack, "FeedbackDeadLetterQueueUrl") == ["1", "0"]
    logged = [r for r in caplog.records if r.getMessage() == "unreadable SES notification"]
    assert len(logged) == redrive
    assert all("bounce@example.org" not in json.dumps(r.__dict__, default=str) for r in caplog.records)


def test_the_local_pump_takes_ses_feedback_from_the_topic_through_the_queue(client, tokens, stack, bounced, tmp_path):
    from devstack.pump import Pump

    pump = Pump(endpoint_url=None, outputs=stack.outputs, outbox=tmp_path, ses_messages=stack.ses_messages)
    assert pump.publish_ses_events() == 2  # the two accepted emails' events, to the topic
    assert _queue(stack, "FeedbackQueueUrl") == ["2", "0"]  # the topic delivered them to the queue
    faults = DynamoFaults()
    with faults.installed():
        faults.throttle(10_000, "ProvisionedThroughputExceededException", ("PutItem",))
        assert pump.drain_feedback(max_rounds=1) == 1  # the delivery; the bounce failed and waits its turn
        faults.clear()
    assert pump.stats.feedback_failures == 1
    assert _queue(stack, "FeedbackQueueUrl") == ["0", "1"]
    assert funnel(client, tokens["viewer"], bounced["event"], bounced["wave"])["bounced"] == 0
    time.sleep(2.5)  # the pump's visibility timeout (2 s): the bounce is handed over again
    assert pump.drain_feedback() == 1
    assert funnel(client, tokens["viewer"], bounced["event"], bounced["wave"])["bounced"] == 1
    assert _queue(stack, "FeedbackQueueUrl") == ["0", "0"]


def test_a_notification_is_read_raw_or_from_an_sns_envelope_and_anything_else_is_unreadable() -> None:
    from chalicelib.jobs.handlers import Unreadable, read_notification

    notification = {"eventType": "Delivery", "mail": {"tags": {}}}
    envelope = {"Type": "Notification", "TopicArn": "arn:aws:sns:us-east-1:1:t", "Message": json.dumps(notification)}
    assert read_notification(json.dumps(notification)) == notification  # raw delivery, as subscribed
    assert read_notification(json.dumps(envelope)) == notification  # a subscription that lost raw delivery
    for body in ("", "{not json", "[1, 2]", '"text"', json.dumps({**envelope, "Message": "{broken"})):
        with pytest.raises(Unreadable):
            read_notification(body)
