"""drgen's default application on EC2 (compute kind asg without ``compute.image``): a real health endpoint.

Amazon Linux 2023 answers nothing on the application port, so the target group and Route 53 would never see a
healthy instance. Unless the scenario names its own AMI, the instances fetch drgen's app package (the same code
the Lambda health targets run: ``lambda/app/health.py`` behind ``lambda/app/serve.py``) from this region's
artifact bucket and run it as a systemd service on the application port. It answers the seed's health contract:
200 with ``"status":"ok"`` only when it has read real rows from the database, 503 otherwise.

Python 3.11 and its pip come from the Amazon Linux 2023 repositories; boto3 (which the package does not vendor:
Lambda's runtime provides it) is installed at the pinned version through the NAT gateways the scenario must
have (validate.py refuses an ASG scenario without NAT and without its own AMI).

The install takes longer than the group's health-check grace period may allow, so the group holds each new
instance in a launch lifecycle hook until the application answers: "By adding a launch lifecycle hook to your Auto
Scaling group, you can ensure that your bootstrap scripts have completed successfully and the applications on the
instances are ready to accept traffic when the lifecycle hook ends"
(https://docs.aws.amazon.com/autoscaling/ec2/userguide/lifecycle-hooks.html); the grace period starts only once
the instance is InService (https://docs.aws.amazon.com/autoscaling/ec2/userguide/lifecycle-hooks-overview.html).
The script completes the hook with CONTINUE when the port answers, ABANDON at the first failed command; an
instance that does neither within READY_SECONDS is abandoned (DefaultResult) and replaced.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from awacs import s3
from awacs.aws import Allow, Statement
from troposphere import Sub

from drgen.builders.context import StackContext
from drgen.packaging import ARTIFACT_BUCKET_PARAMETER, INSTANCE_APP_PACKAGE, key_parameter

# The boto3 release the default application installs: pinned, so an instance started next year runs the code
# this bundle was rendered and tested with.
BOTO3_VERSION = "1.44.8"
APP_DIR = "/opt/drgen-app"
SERVICE = "drgen-app"
PYTHON = "/usr/bin/python3.11"
READY_HOOK = "drgen-app-ready"
READY_SECONDS = 180  # the hook's HeartbeatTimeout: boot, dnf, pip and the first answer (not measured; an allowance)
ANSWER_SECONDS = 60  # after systemd starts it, how long the application may take to answer

# First in the script: the instance's id (IMDSv2) and the hook's two outcomes.
READY = (
    "IMDS=http://169.254.169.254/latest\n"
    "TOKEN=$(curl -sf -X PUT $IMDS/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 900')\n"
    'INSTANCE=$(curl -sf -H "X-aws-ec2-metadata-token: $TOKEN" $IMDS/meta-data/instance-id)\n'
    "ready() {\n"
    f"  aws autoscaling complete-lifecycle-action --lifecycle-hook-name {READY_HOOK} "
    '--auto-scaling-group-name ${AppGroup} --instance-id "$INSTANCE" --lifecycle-action-result "$1" '
    "--region ${AWS::Region}\n"
    "}\n"
    "trap 'ready ABANDON' ERR\n"
)
# Last: any HTTP answer on the port (503 included: the load balancer's check then decides), then CONTINUE.
ANSWERS = (
    f"timeout {ANSWER_SECONDS} bash -c 'until curl -sk -o /dev/null --max-time 2 "
    "${AppScheme}://127.0.0.1:${Port}${Path}; do sleep 2; done'\n"
    "ready CONTINUE\n"
)

INSTALL = (
    "dnf install -y python3.11 python3.11-pip unzip\n"
    f"id {SERVICE} >/dev/null 2>&1 || useradd --system --no-create-home --shell /sbin/nologin {SERVICE}\n"
    f"if [ -d /etc/drgen/tls ]; then chown -R {SERVICE} /etc/drgen/tls; fi\n"
    f"{PYTHON} -m pip install --quiet boto3=={BOTO3_VERSION}\n"
    "aws s3 cp s3://${AppBucket}/${AppKey} /opt/drgen-app.zip --region ${AWS::Region} --only-show-errors\n"
    f"rm -rf {APP_DIR} && unzip -q /opt/drgen-app.zip -d {APP_DIR}\n"
    f"cat > /etc/systemd/system/{SERVICE}.service <<'EOF'\n"
    "[Unit]\nDescription=drgen default application (health endpoint)\nAfter=network-online.target\n"
    "Wants=network-online.target\n[Service]\nEnvironmentFile=/etc/drgen/app.env\n"
    f"WorkingDirectory={APP_DIR}\nExecStart={PYTHON} {APP_DIR}/serve.py\nRestart=always\nRestartSec=2\n"
    f"User={SERVICE}\n[Install]\nWantedBy=multi-user.target\nEOF\n"
    f"systemctl daemon-reload\nsystemctl enable --now {SERVICE}\n"
)


class DefaultApplication(NamedTuple):
    """What the launch template runs for drgen's application: lines first and last in the user data, their Sub
    variables (besides Port and Path), and the instance role's grant to read the package."""

    first: str
    last: str
    variables: dict[str, Any]
    grant: Statement


def install(ctx: StackContext, group_name: str) -> DefaultApplication:
    """The user data's parts that install, start and report the application on instances of ``group_name``."""
    bucket = ctx.parameter(
        ARTIFACT_BUCKET_PARAMETER, "This region's artifact bucket holding the Lambda zips (set by the deployer)."
    )
    key = ctx.parameter(
        key_parameter(INSTANCE_APP_PACKAGE), "S3 key of the app package the instances run (content-addressed)."
    )
    grant = Statement(
        Effect=Allow,
        Action=[s3.GetObject],
        Resource=[Sub("arn:${AWS::Partition}:s3:::${Bucket}/${Key}", Bucket=bucket, Key=key)],
    )
    scheme = "https" if ctx.scenario.compute.target_tls else "http"
    variables = {"AppBucket": bucket, "AppKey": key, "AppGroup": group_name, "AppScheme": scheme}
    return DefaultApplication(READY, INSTALL + ANSWERS, variables, grant)
