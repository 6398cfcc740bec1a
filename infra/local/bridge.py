"""The local bridge: does what AWS does between the queue, the schedule and the functions.

Invokes the `sweeper` with a scheduled-event payload every LATCHKEY_SWEEP_INTERVAL_SECONDS (0 turns
the timer off), as the EventBridge schedule does.

Polls the work queue of the SQS emulator and invokes the `worker` function through cargo lambda's
invoke API with real SQS event payloads (batches of up to 10). Messages the worker reports in
`batchItemFailures` (or all of them, when the invocation itself fails) are left on the queue and
made visible again after LATCHKEY_BRIDGE_RETRY_SECONDS; the others are deleted. The emulator moves
a message to the dead-letter queue after the queue's maxReceiveCount receives, as SQS does.

Reads the table's stream (DynamoDB Local serves DynamoDB Streams) and invokes the
`audit-stream` function with the records its event source's filter in template.yaml admits
(inserts of audit events), in batches of up to 100 per shard, shards after their parents, as
Lambda's event source mapping does. A batch the function answers with `batchItemFailures` (or
fails outright) is delivered again from the record it names (from its first record), after
LATCHKEY_BRIDGE_RETRY_SECONDS.
"""

import hashlib
import json
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.request

import boto3

REGION = os.environ["AWS_REGION"]
QUEUE_URL = os.environ["LATCHKEY_WORK_QUEUE_URL"]
FUNCTIONS = f"http://127.0.0.1:{os.environ['LATCHKEY_PORT']}/2015-03-31/functions"
INVOKE_URL = f"{FUNCTIONS}/worker/invocations"
SWEEP_INTERVAL = int(os.environ.get("LATCHKEY_SWEEP_INTERVAL_SECONDS", "60"))
RETRY_SECONDS = int(os.environ.get("LATCHKEY_BRIDGE_RETRY_SECONDS", "1"))
TABLE = os.environ["LATCHKEY_TABLE"]
STREAM_BATCH = 100
# How often each shard is read (Lambda's batching window is 5 s deployed; a shorter one here keeps
# tests quick) and how often the shard list is read again (DynamoDB Local's is not cheap).
STREAM_POLL_SECONDS = 1.0
SHARDS_EVERY_SECONDS = 10.0

running = True


def stop(*_):
    global running
    running = False


def invoke(event, url=INVOKE_URL):
    request = urllib.request.Request(
        url, data=json.dumps(event).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=900) as response:
        return json.load(response)


def audit_insert(record):
    """Whether the audit stream's event source filter (template.yaml) admits `record`."""
    keys = record["dynamodb"].get("Keys", {})
    return (
        record["eventName"] == "INSERT"
        and keys.get("pk", {}).get("S", "").startswith("AUDIT#")
        and keys.get("sk", {}).get("S", "").startswith("EVENT#")
    )


def lambda_record(record, arn):
    """A stream record as Lambda hands it to a function."""
    change = dict(record["dynamodb"])
    created = change.get("ApproximateCreationDateTime")
    if created is not None and hasattr(created, "timestamp"):
        change["ApproximateCreationDateTime"] = created.timestamp()
    return {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": REGION,
        "eventSourceARN": arn,
        "dynamodb": change,
    }


def stream_loop():
    """Feeds the table's stream to the audit-stream function (see the module doc)."""
    endpoint = os.environ["AWS_ENDPOINT_URL_DYNAMODB"]
    table = boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint)
    streams = boto3.client("dynamodbstreams", region_name=REGION, endpoint_url=endpoint)
    arn = table.describe_table(TableName=TABLE)["Table"].get("LatestStreamArn")
    if not arn:
        print("bridge: the table has no stream; the audit archive is not fed", file=sys.stderr, flush=True)
        return
    url = f"{FUNCTIONS}/audit-stream/invocations"
    after = {}  # shard -> the last sequence number delivered
    iterators = {}
    finished = set()
    shards, shards_read = [], 0.0

    def iterator(shard, at=None):
        if at is not None:
            kind, extra = "AT_SEQUENCE_NUMBER", {"SequenceNumber": at}
        elif shard in after:
            kind, extra = "AFTER_SEQUENCE_NUMBER", {"SequenceNumber": after[shard]}
        else:
            kind, extra = "TRIM_HORIZON", {}
        return streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType=kind, **extra)[
            "ShardIterator"
        ]

    while running:
        try:
            if time.monotonic() - shards_read >= SHARDS_EVERY_SECONDS:
                shards = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
                shards_read = time.monotonic()
            known = {s["ShardId"] for s in shards}
            for shard in shards:
                sid = shard["ShardId"]
                parent = shard.get("ParentShardId")
                if sid in finished or (parent in known and parent not in finished):
                    continue
                out = streams.get_records(ShardIterator=iterators.get(sid) or iterator(sid), Limit=STREAM_BATCH)
                records = out.get("Records", [])
                batch = [lambda_record(r, arn) for r in records if audit_insert(r)]
                if batch:
                    try:
                        result = invoke({"Records": batch}, url) or {}
                        failed = [f["itemIdentifier"] for f in result.get("batchItemFailures", [])]
                    except (urllib.error.URLError, ValueError) as err:
                        print(f"bridge: audit-stream invocation failed: {err}", file=sys.stderr, flush=True)
                        failed = [batch[0]["dynamodb"]["SequenceNumber"]]
                    if failed:
                        print(f"bridge: audit stream batch delivered again from {failed[0]}", flush=True)
                        iterators[sid] = iterator(sid, at=failed[0])
                        time.sleep(RETRY_SECONDS)
                        continue
                    print(f"bridge: {len(batch)} audit events streamed", flush=True)
                if records:
                    after[sid] = records[-1]["dynamodb"]["SequenceNumber"]
                if out.get("NextShardIterator"):
                    iterators[sid] = out["NextShardIterator"]
                else:
                    finished.add(sid)
                    iterators.pop(sid, None)
        except streams.exceptions.ExpiredIteratorException:
            iterators.clear()
        except Exception as err:  # DynamoDB Local paused by the fault tests, or restarting
            print(f"bridge: stream read failed: {err}", file=sys.stderr, flush=True)
            iterators.clear()
            shards_read = 0.0
            time.sleep(1)
        time.sleep(STREAM_POLL_SECONDS)


def main():
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    threading.Thread(target=stream_loop, name="audit-stream", daemon=True).start()
    sqs = boto3.client("sqs", region_name=REGION, endpoint_url=os.environ["AWS_ENDPOINT_URL_SQS"])
    arn = sqs.get_queue_attributes(QueueUrl=QUEUE_URL, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    print(f"bridge: polling {QUEUE_URL}; sweeping every {SWEEP_INTERVAL or 'never'} s", flush=True)
    next_sweep = time.monotonic() + SWEEP_INTERVAL
    while running:
        if SWEEP_INTERVAL and time.monotonic() >= next_sweep:
            next_sweep = time.monotonic() + SWEEP_INTERVAL
            now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            event = {
                "version": "0", "id": f"local-sweep-{now}", "detail-type": "Scheduled Event",
                "source": "aws.events", "account": "123456789012", "time": now, "region": REGION,
                "resources": ["arn:aws:events:us-east-1:123456789012:rule/latchkey-sweep"], "detail": {},
            }
            try:
                print(f"bridge: sweep {invoke(event, f'{FUNCTIONS}/sweeper/invocations')}", flush=True)
            except (urllib.error.URLError, ValueError) as err:
                print(f"bridge: sweeper invocation failed: {err}", file=sys.stderr, flush=True)
        try:
            out = sqs.receive_message(
                QueueUrl=QUEUE_URL, MaxNumberOfMessages=10, WaitTimeSeconds=1, AttributeNames=["All"]
            )
        except Exception as err:  # the emulator restarting: try again
            print(f"bridge: receive failed: {err}", file=sys.stderr, flush=True)
            time.sleep(1)
            continue
        messages = out.get("Messages", [])
        if not messages:
            continue
        event = {
            "Records": [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": m.get("Attributes", {}),
                    "messageAttributes": {},
                    "md5OfBody": hashlib.md5(m["Body"].encode()).hexdigest(),
                    "eventSource": "aws:sqs",
                    "eventSourceARN": arn,
                    "awsRegion": REGION,
                }
                for m in messages
            ]
        }
        try:
            result = invoke(event)
            failed = {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])}
        except (urllib.error.URLError, ValueError) as err:
            print(f"bridge: worker invocation failed: {err}", file=sys.stderr, flush=True)
            failed = {m["MessageId"] for m in messages}
        for m in messages:
            if m["MessageId"] in failed:
                sqs.change_message_visibility(
                    QueueUrl=QUEUE_URL, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=RETRY_SECONDS
                )
            else:
                sqs.delete_message(QueueUrl=QUEUE_URL, ReceiptHandle=m["ReceiptHandle"])
        print(f"bridge: {len(messages)} delivered, {len(failed)} failed", flush=True)


if __name__ == "__main__":
    main()
