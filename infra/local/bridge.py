"""The local bridge: does what AWS does between the queue, the schedule and the functions.

Invokes the `sweeper` with a scheduled-event payload every LATCHKEY_SWEEP_INTERVAL_SECONDS (0 turns
the timer off), as the EventBridge schedule does.

Polls the work queue of the SQS emulator and invokes the `worker` function through cargo lambda's
invoke API with real SQS event payloads (batches of up to 10). Messages the worker reports in
`batchItemFailures` (or all of them, when the invocation itself fails) are left on the queue and
made visible again after LATCHKEY_BRIDGE_RETRY_SECONDS; the others are deleted. The emulator moves
a message to the dead-letter queue after the queue's maxReceiveCount receives, as SQS does.

Reads the table's stream (DynamoDB Local serves DynamoDB Streams) and invokes the stream's
consumers, `audit-stream` and `webhook-dispatch`, with the records their event sources' filter in
template.yaml admits (inserts of audit events), in batches of up to 100 per shard, shards after
their parents, as Lambda's event source mappings do. A batch a function answers with
`batchItemFailures` (or fails outright) is delivered again from the earliest record named (from
its first record), after LATCHKEY_BRIDGE_RETRY_SECONDS, to both: deployed each mapping keeps its
own place, and here both see the records again, which each consumer makes harmless (the archive's
checkpoint, the deliveries' conditional puts).
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
# Stream records read per call (GetRecords' most): the stream carries every write of the table,
# of which the audit events are a small part, so a small read leaves a backlog behind.
STREAM_BATCH = 1000
# Audit events per invocation: the event source mappings' BatchSize in template.yaml.
FUNCTION_BATCH = 100
# How often each shard is read (Lambda's batching window is 5 s deployed; a shorter one here keeps
# tests quick) and how often the shard list is read again (DynamoDB Local's is not cheap).
STREAM_POLL_SECONDS = 1.0
# After a read that found records: the next comes sooner, so a backlog drains, but not at once,
# so draining does not starve DynamoDB Local of the rest of the stack's requests.
STREAM_BUSY_SECONDS = 0.2
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


def deliver_batch(consumers, batch):
    """Invokes every consumer with `batch` at once, as their event source mappings read the shard;
    the earliest record a consumer named as failed (or the first, when an invocation failed), or
    None."""
    failed = []

    def deliver(consumer):
        try:
            result = invoke({"Records": batch}, f"{FUNCTIONS}/{consumer}/invocations") or {}
            failed.extend(f["itemIdentifier"] for f in result.get("batchItemFailures", []))
        except (urllib.error.URLError, ValueError) as err:
            print(f"bridge: {consumer} invocation failed: {err}", file=sys.stderr, flush=True)
            failed.append(batch[0]["dynamodb"]["SequenceNumber"])

    workers = [threading.Thread(target=deliver, args=(c,)) for c in consumers]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    if not failed:
        return None
    order = [r["dynamodb"]["SequenceNumber"] for r in batch]
    return min(failed, key=lambda n: order.index(n) if n in order else 0)


def stream_loop():
    """Feeds the table's stream to the audit-stream function (see the module doc)."""
    endpoint = os.environ["AWS_ENDPOINT_URL_DYNAMODB"]
    table = boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint)
    streams = boto3.client("dynamodbstreams", region_name=REGION, endpoint_url=endpoint)
    arn = table.describe_table(TableName=TABLE)["Table"].get("LatestStreamArn")
    if not arn:
        print("bridge: the table has no stream; the audit archive is not fed", file=sys.stderr, flush=True)
        return
    consumers = ["audit-stream", "webhook-dispatch"]
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
        # A shard that had records is read again soon (a backlog drains at the functions' pace);
        # the poll interval is for a quiet stream.
        busy = False
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
                inserts = [lambda_record(r, arn) for r in records if audit_insert(r)]
                first = None
                # The event source mappings' BatchSize (100) per invocation.
                for start in range(0, len(inserts), FUNCTION_BATCH):
                    first = deliver_batch(consumers, inserts[start:start + FUNCTION_BATCH])
                    if first:
                        break
                if first:
                    print(f"bridge: audit stream batch delivered again from {first}", flush=True)
                    iterators[sid] = iterator(sid, at=first)
                    time.sleep(RETRY_SECONDS)
                    continue
                if inserts:
                    print(f"bridge: {len(inserts)} audit events streamed", flush=True)
                if records:
                    after[sid] = records[-1]["dynamodb"]["SequenceNumber"]
                    busy = True
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
        time.sleep(STREAM_BUSY_SECONDS if busy else STREAM_POLL_SECONDS)


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
