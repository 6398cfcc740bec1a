"""Creates the table, queues, buckets and secrets of template.yaml in the local stack.

The template is the only definition: this script reads its AWS::DynamoDB::Table and
AWS::SQS::Queue resources and creates exactly those, so local and deployed layouts cannot drift.
Local names: the table is $LATCHKEY_TABLE, each queue is named after its logical id.
Prints the queue URLs as KEY=VALUE lines (LATCHKEY_<LOGICAL_ID_IN_SNAKE_CASE>_URL=url, e.g.
LATCHKEY_WORK_QUEUE_URL), the names template.yaml gives the functions.

Given a second argument, also writes there the IAM actions template.yaml grants each function
(a JSON object: binary name -> sorted actions), which the functions' policy guard enforces on
the local stack (shared/aws/src/clients.rs), as IAM does in AWS.
"""

import json

import os
import re
import sys

import boto3
import yaml


class CfnLoader(yaml.SafeLoader):
    """A YAML loader that keeps CloudFormation's short-form intrinsics as their long form."""


def _intrinsic(loader, tag_suffix, node):
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


CfnLoader.add_multi_constructor("!", _intrinsic)


def snake(logical_id):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", logical_id).upper()


def policies(resources):
    """The actions each function's inline policy statements allow, by its cargo binary name."""
    granted = {}
    for resource in resources.values():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        binary = resource.get("Metadata", {}).get("BuildProperties", {}).get("Binary")
        if not binary:
            continue
        actions = set()
        for policy in resource["Properties"].get("Policies", []):
            if not isinstance(policy, dict) or "Statement" not in policy:
                sys.exit(f"{binary}: only inline policy statements can be checked, found {policy!r}")
            for statement in policy["Statement"]:
                if statement.get("Effect") != "Allow":
                    continue
                listed = statement["Action"]
                actions.update([listed] if isinstance(listed, str) else listed)
        granted[binary] = sorted(actions)
    return granted


def main():
    template_path = sys.argv[1]
    with open(template_path, encoding="utf-8") as f:
        template = yaml.load(f, Loader=CfnLoader)
    resources = template["Resources"]
    region = os.environ["AWS_REGION"]
    dynamodb = boto3.client("dynamodb", region_name=region, endpoint_url=os.environ["AWS_ENDPOINT_URL_DYNAMODB"])
    sqs = boto3.client("sqs", region_name=region, endpoint_url=os.environ["AWS_ENDPOINT_URL_SQS"])

    tables = [(lid, r["Properties"]) for lid, r in resources.items() if r["Type"] == "AWS::DynamoDB::Table"]
    if len(tables) != 1:
        sys.exit(f"expected exactly one table in {template_path}, found {len(tables)}")
    _, props = tables[0]
    name = os.environ["LATCHKEY_TABLE"]
    if name in dynamodb.list_tables()["TableNames"]:
        dynamodb.delete_table(TableName=name)
        dynamodb.get_waiter("table_not_exists").wait(TableName=name)
    args = {
        "TableName": name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if props.get("GlobalSecondaryIndexes"):
        args["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    stream = props.get("StreamSpecification")
    if stream:
        args["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    dynamodb.create_table(**args)
    dynamodb.get_waiter("table_exists").wait(TableName=name)
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        dynamodb.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
        )

    queues = {lid: r.get("Properties", {}) for lid, r in resources.items() if r["Type"] == "AWS::SQS::Queue"}
    urls, arns = {}, {}

    def create(lid):
        if lid in urls:
            return
        props = queues[lid]
        attributes = {}
        for key in ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds", "ReceiveMessageWaitTimeSeconds"):
            if key in props:
                attributes[key] = str(props[key])
        redrive = props.get("RedrivePolicy")
        if redrive:
            target = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
            create(target)
            attributes["RedrivePolicy"] = (
                '{"deadLetterTargetArn": "%s", "maxReceiveCount": "%s"}' % (arns[target], redrive["maxReceiveCount"])
            )
        url = sqs.create_queue(QueueName=lid, Attributes=attributes)["QueueUrl"]
        urls[lid] = url
        arns[lid] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    for lid in queues:
        create(lid)
    for lid, url in urls.items():
        print(f"LATCHKEY_{snake(lid)}_URL={url}")

    # Each AWS::SecretsManager::Secret, in moto under its logical id, with the value the local
    # stack gives it (LATCHKEY_LOCAL_SECRET_<LOGICAL_ID> in the environment); its id is printed
    # as LATCHKEY_<LOGICAL_ID>_ID for the functions that read it.
    secrets = boto3.client("secretsmanager", region_name=region, endpoint_url=os.environ["AWS_ENDPOINT_URL_SECRETS_MANAGER"])
    for lid, r in resources.items():
        if r["Type"] != "AWS::SecretsManager::Secret":
            continue
        value = os.environ.get(f"LOCAL_SECRET_{snake(lid)}")
        if value is None:
            sys.exit(f"the local stack has no value for the secret {lid}: set LOCAL_SECRET_{snake(lid)}")
        try:
            secrets.delete_secret(SecretId=lid, ForceDeleteWithoutRecovery=True)
        except secrets.exceptions.ResourceNotFoundException:
            pass
        secrets.create_secret(Name=lid, SecretString=value)
        print(f"LATCHKEY_{snake(lid)}_ID={lid}")
    # Each AWS::S3::Bucket, in moto, named after its logical id; its name is printed as
    # LATCHKEY_<LOGICAL_ID> (AuditBucket: LATCHKEY_AUDIT_BUCKET), the variable the template gives
    # the functions that use it.
    s3 = boto3.client("s3", region_name=region, endpoint_url=os.environ["AWS_ENDPOINT_URL_S3"])
    for lid, r in resources.items():
        if r["Type"] != "AWS::S3::Bucket":
            continue
        bucket = f"latchkey-{lid.lower()}"
        try:
            s3.create_bucket(Bucket=bucket)
        except s3.exceptions.BucketAlreadyOwnedByYou:
            pass
        print(f"LATCHKEY_{snake(lid)}={bucket}")
    if len(sys.argv) > 2:
        with open(sys.argv[2], "w", encoding="utf-8") as f:
            json.dump(policies(resources), f, indent=2, sort_keys=True)
    print(f"created table {name} and queues {', '.join(urls) or 'none'}", file=sys.stderr)


if __name__ == "__main__":
    main()
