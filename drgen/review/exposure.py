"""What a bundle opens to the network: security group ingress rules and public endpoints.

Each item is read per stack (so ``Fn::If`` on the region's role picks that region's CIDR) and then merged by
template, resource and description, with the stacks that create it; two bundles compare on that identity, so a
new CIDR, a new port or a new public endpoint is new and an unchanged one is not repeated. Public means
reachable from the internet: an ingress rule from 0.0.0.0/0 or ::/0, an internet-facing load balancer, an API
Gateway endpoint that is not PRIVATE, a Lambda function URL without auth, a database marked publicly
accessible, a bucket without all four public-access blocks, a CloudFront distribution.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from drgen.bundle.evaluate import Env, references
from drgen.bundle.reader import RenderedBundle

ANYWHERE = ("0.0.0.0/0", "::/0")
_SOURCES = ("CidrIp", "CidrIpv6", "SourceSecurityGroupId", "SourcePrefixListId", "SourceSecurityGroupName")
PUBLIC_ACCESS_BLOCKS = ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")


@dataclass(frozen=True)
class Exposure:
    """One ingress rule or public endpoint, with the stacks that create it."""

    template: str
    logical_id: str
    kind: str  # "ingress" | "endpoint"
    what: str  # "tcp 443 from 0.0.0.0/0", "internet-facing application load balancer"
    public: bool
    where: tuple[str, ...]  # stack labels

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.template, self.logical_id, self.kind, self.what)


def exposures(bundle: RenderedBundle) -> list[Exposure]:
    """Every ingress rule and public endpoint of the bundle, sorted by template, resource and description."""
    merged: dict[tuple[str, str, str, str], tuple[bool, list[str]]] = {}
    for stack in bundle.stacks:
        doc = bundle.templates.get(stack.template, {})
        env = Env(doc, stack)
        for logical_id, resource in sorted(doc.get("Resources", {}).items()):
            if env.deployed(resource) is False:
                continue
            for kind, what, public in _items(env, logical_id, resource):
                _, labels = merged.setdefault((stack.template, logical_id, kind, what), (public, []))
                labels.append(stack.label)
    return [
        Exposure(t, lid, kind, what, public, tuple(labels))
        for (t, lid, kind, what), (public, labels) in sorted(merged.items())
    ]


def _items(env: Env, logical_id: str, resource: dict[str, Any]) -> Iterator[tuple[str, str, bool]]:
    rtype = resource.get("Type", "")
    props = resource.get("Properties", {}) or {}
    if rtype == "AWS::EC2::SecurityGroup":
        for rule in _listed(props.get("SecurityGroupIngress")):
            yield _ingress(env, rule)
    elif rtype == "AWS::EC2::SecurityGroupIngress":
        kind, what, public = _ingress(env, props)
        group = sorted(references(props.get("GroupId")) & set(env.template.get("Resources", {})))
        yield kind, f"{what} (into {', '.join(group) or env.show(props.get('GroupId'))})", public
    else:
        endpoint = ENDPOINTS.get(rtype)
        described = endpoint(env, props) if endpoint else None
        if described:
            yield "endpoint", described, True


def _listed(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _ingress(env: Env, rule: dict[str, Any]) -> tuple[str, str, bool]:
    protocol = env.show(rule.get("IpProtocol"))
    protocol = "all traffic" if protocol in ("-1", "all") else protocol
    low, high = env.show(rule.get("FromPort")), env.show(rule.get("ToPort"))
    ports = "" if protocol == "all traffic" or not low else f" {low}" if low == high else f" {low}-{high}"
    sources = [env.show(rule[key]) for key in _SOURCES if key in rule]
    source = ", ".join(sources) or "(no source)"
    return "ingress", f"{protocol}{ports} from {source}", any(s in ANYWHERE for s in sources)


# -- public endpoints: type -> what makes one public (None: not public) ----------------------------------------
def _load_balancer(env: Env, props: dict[str, Any]) -> str | None:
    # "The default is an Internet-facing load balancer" (AWS::ElasticLoadBalancingV2::LoadBalancer Scheme)
    scheme = env.show(props.get("Scheme")) or "internet-facing"
    kind = env.show(props.get("Type")) or "application"
    return f"internet-facing {kind} load balancer" if scheme == "internet-facing" and kind != "gateway" else None


def _classic_load_balancer(env: Env, props: dict[str, Any]) -> str | None:
    scheme = env.show(props.get("Scheme")) or "internet-facing"
    return "internet-facing classic load balancer" if scheme == "internet-facing" else None


def _endpoint_types(env: Env, props: dict[str, Any]) -> list[str]:
    config = props.get("EndpointConfiguration") or {}
    types = config.get("Types") if isinstance(config, dict) else None
    return [env.show(t) for t in types] if isinstance(types, list) else ["EDGE"]  # EDGE is the API default


def _rest_api(env: Env, props: dict[str, Any]) -> str | None:
    types = _endpoint_types(env, props)
    if "PRIVATE" in types:
        return None
    disabled = env.show(props.get("DisableExecuteApiEndpoint")) == "true"
    return f"public REST API ({', '.join(types)})" + (" behind its custom domain only" if disabled else "")


def _domain_name(env: Env, props: dict[str, Any]) -> str | None:
    types = _endpoint_types(env, props)
    name = env.show(props.get("DomainName"))
    return None if "PRIVATE" in types else f"public custom domain {name} ({', '.join(types)})"


def _http_api(env: Env, props: dict[str, Any]) -> str | None:
    disabled = env.show(props.get("DisableExecuteApiEndpoint")) == "true"
    return None if disabled else f"public {env.show(props.get('ProtocolType')) or 'HTTP'} API endpoint"


def _function_url(env: Env, props: dict[str, Any]) -> str | None:
    return "Lambda function URL without auth" if env.show(props.get("AuthType")) == "NONE" else None


def _database(env: Env, props: dict[str, Any]) -> str | None:
    return "publicly accessible database" if env.show(props.get("PubliclyAccessible")) == "true" else None


def _bucket(env: Env, props: dict[str, Any]) -> str | None:
    if "WebsiteConfiguration" in props:
        return "public website bucket"
    blocks = props.get("PublicAccessBlockConfiguration") or {}
    missing = [b for b in PUBLIC_ACCESS_BLOCKS if env.show(blocks.get(b)) != "true"]
    return f"bucket without public-access blocks {', '.join(missing)}" if missing else None


def _distribution(env: Env, props: dict[str, Any]) -> str | None:
    return "CloudFront distribution"


def _instance(env: Env, props: dict[str, Any]) -> str | None:
    interfaces = props.get("NetworkInterfaces") or props.get("LaunchTemplateData", {}).get("NetworkInterfaces") or []
    public = any(env.show(i.get("AssociatePublicIpAddress")) == "true" for i in _listed(interfaces))
    return "instances with a public IP address" if public else None


ENDPOINTS: dict[str, Callable[[Env, dict[str, Any]], str | None]] = {
    "AWS::ElasticLoadBalancingV2::LoadBalancer": _load_balancer,
    "AWS::ElasticLoadBalancing::LoadBalancer": _classic_load_balancer,
    "AWS::ApiGateway::RestApi": _rest_api,
    "AWS::ApiGateway::DomainName": _domain_name,
    "AWS::ApiGatewayV2::Api": _http_api,
    "AWS::ApiGatewayV2::DomainName": _domain_name,
    "AWS::Lambda::Url": _function_url,
    "AWS::RDS::DBInstance": _database,
    "AWS::RDS::DBCluster": _database,
    "AWS::S3::Bucket": _bucket,
    "AWS::CloudFront::Distribution": _distribution,
    "AWS::EC2::Instance": _instance,
    "AWS::EC2::LaunchTemplate": _instance,
}
