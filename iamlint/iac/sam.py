"""SAM policy templates (`Policies: [{S3ReadPolicy: {BucketName: x}}]`) -> the statements SAM expands them to.

Only the templates below are modeled; any other template is reported as an input gap by the caller
(what it grants is missing, never guessed). Parameter values that are only known at deploy time stay
markers, so the statements that use them are Conditional.
"""

from __future__ import annotations

from typing import Any

from .symbolic import has_marker, marker


def _p(params: dict, key: str, tname: str) -> str:
    v = params.get(key)
    if v is None:
        return marker(f"{tname}.{key}")
    return v if isinstance(v, str) else str(v)


def policy_template(tname: str, params: dict, opts: Any) -> list[dict] | None:
    part, acct = opts.partition, opts.account
    region = opts.region or marker("Ref:AWS::Region")

    def s3(bucket: str) -> list[str]:
        return [f"arn:{part}:s3:::{bucket}", f"arn:{part}:s3:::{bucket}/*"]

    def p(key: str) -> str:
        return _p(params, key, tname)

    if tname == "S3ReadPolicy":
        return [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation",
                                               "s3:GetObjectVersion", "s3:GetLifecycleConfiguration"],
                 "Resource": s3(p("BucketName"))}]
    if tname == "S3WritePolicy":
        return [{"Effect": "Allow", "Action": ["s3:PutObject", "s3:PutObjectAcl", "s3:PutLifecycleConfiguration"],
                 "Resource": s3(p("BucketName"))}]
    if tname == "S3CrudPolicy":
        return [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation",
                                               "s3:GetObjectVersion", "s3:PutObject", "s3:PutObjectAcl",
                                               "s3:GetLifecycleConfiguration", "s3:PutLifecycleConfiguration",
                                               "s3:DeleteObject"],
                 "Resource": s3(p("BucketName"))}]
    if tname in ("DynamoDBReadPolicy", "DynamoDBCrudPolicy"):
        table = f"arn:{part}:dynamodb:{region}:{acct}:table/{p('TableName')}"
        read = ["dynamodb:GetItem", "dynamodb:Scan", "dynamodb:Query", "dynamodb:BatchGetItem",
                "dynamodb:DescribeTable"]
        write = ["dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem",
                 "dynamodb:ConditionCheckItem"]
        return [{"Effect": "Allow", "Action": read + (write if tname == "DynamoDBCrudPolicy" else []),
                 "Resource": [table, f"{table}/index/*"]}]
    if tname == "SQSSendMessagePolicy":
        return [{"Effect": "Allow", "Action": ["sqs:SendMessage*"],
                 "Resource": f"arn:{part}:sqs:{region}:{acct}:{p('QueueName')}"}]
    if tname == "SQSPollerPolicy":
        # SAM's own template also lists sqs:ChangeMessageVisibilityBatch and sqs:DeleteMessageBatch, which are
        # not IAM actions (the batch calls are authorized by the single ones): left out, so that a template
        # nobody can edit is not reported as naming unknown actions
        return [{"Effect": "Allow", "Action": ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage",
                                               "sqs:GetQueueAttributes", "sqs:ReceiveMessage"],
                 "Resource": f"arn:{part}:sqs:{region}:{acct}:{p('QueueName')}"}]
    if tname == "LambdaInvokePolicy":
        fn = f"arn:{part}:lambda:{region}:{acct}:function:{p('FunctionName')}"
        return [{"Effect": "Allow", "Action": ["lambda:InvokeFunction"], "Resource": [fn, f"{fn}:*"]}]
    if tname == "SSMParameterReadPolicy":
        name = p("ParameterName")
        return [{"Effect": "Allow", "Action": ["ssm:DescribeParameters"], "Resource": "*"},
                {"Effect": "Allow", "Action": ["ssm:GetParameters", "ssm:GetParameter", "ssm:GetParametersByPath"],
                 "Resource": f"arn:{part}:ssm:{region}:{acct}:parameter/{name.lstrip('/')}"}]
    if tname == "AWSSecretsManagerGetSecretValuePolicy":
        return [{"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": p("SecretArn")}]
    if tname == "KMSDecryptPolicy":
        return [{"Effect": "Allow", "Action": "kms:Decrypt",
                 "Resource": f"arn:{part}:kms:{region}:{acct}:key/{p('KeyId')}"}]
    if tname == "CloudWatchPutMetricPolicy":
        return [{"Effect": "Allow", "Action": ["cloudwatch:PutMetricData"], "Resource": "*"}]
    if tname == "VPCAccessPolicy":
        return [{"Effect": "Allow", "Action": ["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface",
                                               "ec2:DescribeNetworkInterfaces", "ec2:DetachNetworkInterface"],
                 "Resource": "*"}]
    return None


__all__ = ["policy_template", "has_marker"]
