"""The network's share of the cost estimate: NAT gateways, public IPv4 addresses, interface endpoints per AZ, load
balancers, and Route 53 health checks and hosted zones."""

from __future__ import annotations

from decimal import Decimal

from drgen.bundle.evaluate import Env
from drgen.bundle.manifest import StackEntry
from drgen.review.cost_reader import OfType, Reader, integer, properties

# Stated assumptions (see the notes each estimate carries).
ALB_IDLE_LCU = Decimal(1)  # LCUs an idle ALB is billed per hour: health checks and probes, no real traffic
ALB_MIN_SUBNETS = 2  # an ALB spans at least two subnets: its public IPv4 count when the subnets cannot be traced


def network(reader: Reader, stack: StackEntry, env: Env, of_type: OfType) -> None:
    nats = [lid for lid, r in of_type("AWS::EC2::NatGateway") if properties(r).get("ConnectivityType") != "private"]
    if nats:
        reader.add(stack, "nat_gateway", "NAT gateway", len(nats), detail=", ".join(nats), order="nat")
    eips = [lid for lid, _ in of_type("AWS::EC2::EIP")]
    if eips:
        reader.add(
            stack,
            "public_ipv4",
            "public IPv4 address",
            len(eips),
            detail=f"Elastic IPs: {', '.join(eips)}",
            order="ipv4",
        )
    for lid, resource in of_type("AWS::EC2::VPCEndpoint"):
        props = properties(resource)
        if env.known(props.get("VpcEndpointType")) != "Interface":
            continue  # Gateway endpoints (S3, DynamoDB) are free
        azs = reader.count_items(stack, env, props.get("SubnetIds"))
        service = env.show(props.get("ServiceName")).removeprefix(f"com.amazonaws.{stack.region}.") or lid
        reader.add(
            stack,
            "interface_endpoint",
            "interface VPC endpoint (per AZ)",
            azs or 1,
            detail=f"{service} x{azs or '1 (subnets not traced)'}",
            order="endpoint",
        )


def load_balancers(reader: Reader, stack: StackEntry, env: Env, of_type: OfType) -> None:
    for lid, resource in of_type("AWS::ElasticLoadBalancingV2::LoadBalancer"):
        props = properties(resource)
        kind = env.known(props.get("Type")) or "application"
        if kind != "application":
            reader.add(
                stack, f"lb_{kind}", f"{kind} load balancer (not in the price table)", 1, detail=lid, order="alb"
            )
            continue
        reader.add(stack, "alb", "Application Load Balancer", 1, detail=lid, order="alb")
        reader.add(
            stack,
            "alb_lcu",
            f"ALB capacity (assumed {ALB_IDLE_LCU} LCU each)",
            ALB_IDLE_LCU,
            detail=lid,
            order="lcu",
        )
        internet = (env.known(props.get("Scheme")) or "internet-facing") == "internet-facing"
        public = env.known(props.get("IpAddressType")) != "dualstack-without-public-ipv4"
        if internet and public:
            subnets = props.get("Subnets") or props.get("SubnetMappings")
            count = reader.count_items(stack, env, subnets) or ALB_MIN_SUBNETS
            reader.add(
                stack,
                "public_ipv4",
                "public IPv4 address",
                count,
                detail=f"{lid}: one per subnet ({count})",
                order="ipv4",
            )


def routing(reader: Reader, stack: StackEntry, env: Env, of_type: OfType) -> None:
    prices = reader.prices
    for lid, resource in of_type("AWS::Route53::HealthCheck"):
        config = properties(resource).get("HealthCheckConfig") or {}
        kind = env.known(config.get("Type")) or "HTTP"
        features = []
        if kind.startswith("HTTPS"):
            features.append("HTTPS")
        if kind.endswith("STR_MATCH"):
            features.append("string match")
        if kind not in ("CALCULATED", "CLOUDWATCH_METRIC", "RECOVERY_CONTROL"):
            if integer(env.known(config.get("RequestInterval")), default=30) < 30:
                features.append("fast interval")
            if env.known(config.get("MeasureLatency")) == "true":
                features.append("latency")
        unit = prices.monthly("route53_health_check") + len(features) * prices.monthly("route53_health_check_feature")
        item = f"Route 53 health check ({kind}" + (f": {', '.join(features)}" if features else "") + ")"
        reader.add(
            stack,
            "route53_health_check",
            item,
            1,
            detail=lid,
            order="healthcheck",
            unit_usd=unit,
            unit="health check-month",
        )
    for lid, _ in of_type("AWS::Route53::HostedZone"):
        reader.add(stack, "route53_hosted_zone", "Route 53 hosted zone", 1, detail=lid, order="zone")
