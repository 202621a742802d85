"""EC2 Auto Scaling behind the load balancer: a launch template (IMDSv2, the region's key) and the group.

The DR region keeps the standby minimum and the failover raises it; without ``compute.image`` the instances run
drgen's health application (instance_app.py) on the latest Amazon Linux 2023.
"""

from __future__ import annotations

from awacs.autoscaling import CompleteLifecycleAction
from awacs.aws import Allow, Statement
from troposphere import Base64, GetAtt, Ref, Sub, autoscaling, ec2, iam
from troposphere import elasticloadbalancingv2 as elb

from drgen.builders import inputs, instance_app
from drgen.builders.context import StackContext
from drgen.builders.workload import (
    CPU_TARGET_PERCENT,
    Balancer,
    app_name,
    application_role,
    per_role_capacity,
    workload_security_group,
)
from drgen.bundle.names import AUTO_SCALING_GROUP_NAME
from drgen.lambda_code import contract

AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"


def group(ctx: StackContext, balancer: Balancer, target_group: elb.TargetGroup) -> None:
    """Instances from a launch template in the private subnets; the DR region keeps the standby minimum."""
    compute = ctx.scenario.compute
    name = app_name(ctx)
    template = _launch_template(ctx, balancer)
    # drgen's application installs at boot: the group waits for it (instance_app.py, READY_HOOK).
    hooks = [_ready_hook()] if compute.runs_default_application else []
    group = ctx.add(
        autoscaling.AutoScalingGroup(
            "AutoScalingGroup",
            AutoScalingGroupName=name,
            LifecycleHookSpecificationList=hooks,
            LaunchTemplate=autoscaling.LaunchTemplateSpecification(
                LaunchTemplateId=Ref(template), Version=GetAtt(template, "LatestVersionNumber")
            ),
            MinSize=per_role_capacity(ctx),
            DesiredCapacity=per_role_capacity(ctx),
            MaxSize=str(compute.max_capacity),
            VPCZoneIdentifier=inputs.private_subnets(ctx),
            TargetGroupARNs=[Ref(target_group)],
            HealthCheckType="ELB",
            HealthCheckGracePeriod=compute.startup_seconds,
            MetricsCollection=[autoscaling.MetricsCollection(Granularity="1Minute")],
        )
    )
    ctx.add(
        autoscaling.ScalingPolicy(
            "ScaleOutPolicy",
            AutoScalingGroupName=Ref(group),
            PolicyType="TargetTrackingScaling",
            TargetTrackingConfiguration=autoscaling.TargetTrackingConfiguration(
                PredefinedMetricSpecification=autoscaling.PredefinedMetricSpecification(
                    PredefinedMetricType="ASGAverageCPUUtilization"
                ),
                TargetValue=CPU_TARGET_PERCENT,
            ),
        )
    )
    ctx.output(AUTO_SCALING_GROUP_NAME, Ref(group), "Auto Scaling group the failover scales to active capacity.")


def _ready_hook() -> autoscaling.LifecycleHookSpecification:
    """Given at creation, so the group's first instances wait too ("If you add a lifecycle hook ... at creation,
    the lifecycle hook applies to the instances that are launched when the group is created":
    https://docs.aws.amazon.com/autoscaling/ec2/userguide/adding-lifecycle-hooks.html)."""
    return autoscaling.LifecycleHookSpecification(
        LifecycleHookName=instance_app.READY_HOOK,
        LifecycleTransition="autoscaling:EC2_INSTANCE_LAUNCHING",
        HeartbeatTimeout=instance_app.READY_SECONDS,
        DefaultResult="ABANDON",
    )


def asg_arn(ctx: StackContext) -> Sub:
    """This region's group, by name (its ARN also holds a generated id, hence the ``*``)."""
    return Sub(
        "arn:${AWS::Partition}:autoscaling:${AWS::Region}:${AWS::AccountId}:autoScalingGroup:*:"
        + f"autoScalingGroupName/{app_name(ctx)}"
    )


# Instances serving HTTPS to the load balancer make a certificate at boot (an ALB does not validate it).
TLS_DIR = "/etc/drgen/tls"
MAKE_CERTIFICATE = (
    f"install -d -m 0700 {TLS_DIR}\n"
    "openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj /CN=${AWS::StackName} "
    f"-keyout {TLS_DIR}/key.pem -out {TLS_DIR}/cert.pem\n"
)


def _app_env(tls: bool) -> str:
    """/etc/drgen/app.env as Sub text: what the application reads (drgen's own: lambda/app/serve.py and the
    database code it shares with the functions)."""
    values = [
        (contract.DB_SECRET_NAME, "${Secret}"),
        (contract.DB_ENDPOINT, "${Endpoint}"),
        (contract.GLOBAL_CLUSTER_ID, "${GlobalCluster}"),
        (contract.DB_NAME, "${Database}"),
        (contract.APP_PORT, "${Port}"),
        (contract.HEALTH_PATH, "${Path}"),
        ("AWS_REGION", "${AWS::Region}"),
    ]
    if tls:
        values += [(contract.APP_TLS_CERT, f"{TLS_DIR}/cert.pem"), (contract.APP_TLS_KEY, f"{TLS_DIR}/key.pem")]
    return "".join(f"{name}={value}\n" for name, value in values)


def _launch_template(ctx: StackContext, balancer: Balancer) -> ec2.LaunchTemplate:
    """IMDSv2 only, the root volume under the region's key, the application's role, its configuration in
    /etc/drgen/app.env (and with target TLS, its certificate)."""
    named = ctx.scenario.compute.image
    image = ctx.parameter(
        "ApplicationImageId",
        "SSM parameter holding each region's application AMI"
        + ("." if named else " (default: the latest Amazon Linux 2023, running drgen's application)."),
        type="AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>",
        default=named or AMI_PARAMETER,
    )
    default_app = instance_app.install(ctx, app_name(ctx)) if ctx.scenario.compute.runs_default_application else None
    # The application reads its package; the script reports it ready on this group's hook.
    ready = Statement(Effect=Allow, Action=[CompleteLifecycleAction], Resource=[asg_arn(ctx)])
    role = application_role(
        ctx,
        "InstanceRole",
        "ec2.amazonaws.com",
        [Sub("arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore")],  # shell access without SSH
        grants=[default_app.grant, ready] if default_app else [],
    )
    profile = ctx.add(iam.InstanceProfile("InstanceProfile", Roles=[Ref(role)]))
    group = workload_security_group(ctx, balancer)
    tls = ctx.scenario.compute.target_tls
    user_data = Sub(
        "#!/bin/bash\nset -euo pipefail\n"
        + (default_app.first if default_app else "")
        + "install -d -m 0755 /etc/drgen\n"
        + (MAKE_CERTIFICATE if tls else "")
        + "cat > /etc/drgen/app.env <<'EOF'\n"
        + _app_env(tls)
        + "EOF\n"
        + (default_app.last if default_app else ""),
        **(default_app.variables if default_app else {}),
        Secret=inputs.database_secret_name(ctx),
        Endpoint=inputs.database_endpoint(ctx),
        GlobalCluster=inputs.global_cluster_id(ctx),
        Database=ctx.scenario.database.database_name,
        Port=str(ctx.scenario.compute.app_port),
        Path=ctx.scenario.routing.health_check.path,
    )
    return ctx.add(
        ec2.LaunchTemplate(
            "LaunchTemplate",
            LaunchTemplateData=ec2.LaunchTemplateData(
                ImageId=image,
                InstanceType=ctx.scenario.compute.instance_type,
                IamInstanceProfile=ec2.IamInstanceProfile(Arn=GetAtt(profile, "Arn")),
                SecurityGroupIds=[Ref(group)],
                MetadataOptions=ec2.MetadataOptions(HttpTokens="required", HttpEndpoint="enabled"),
                # The region's key (its policy lets the Auto Scaling service-linked role use it).
                BlockDeviceMappings=[
                    ec2.LaunchTemplateBlockDeviceMapping(
                        DeviceName="/dev/xvda",
                        Ebs=ec2.EBSBlockDevice(
                            Encrypted=True,
                            KmsKeyId=inputs.key_arn(ctx),
                            VolumeType="gp3",
                            DeleteOnTermination=True,
                        ),
                    )
                ],
                UserData=Base64(user_data),
            ),
        )
    )
