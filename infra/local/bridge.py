"""The local bridge: does what AWS does between the queue, the schedule and the functions.

Invokes the `sweeper` with a scheduled-event payload every LATCHKEY_SWEEP_INTERVAL_SECONDS (0 turns
the timer off), as the EventBridge schedule does.

Polls the work queue of the SQS emulator and invokes the `worker` function through cargo lambda's
invoke API with real SQS event payloads (batches of up to 10). Messages the worker reports in
`batchItemFailures` (or all of them, when the invocation itself fails) are left on the queue and
made visible again after LATCHKEY_BRIDGE_RETRY_SECONDS; the others are deleted. The emulator moves
a message to the dead-letter queue after the queue's maxReceiveCount receives, as SQS does.
"""

import hashlib
import json
import os
import signal
import sys
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


def main():
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
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
