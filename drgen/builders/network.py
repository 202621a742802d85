"""Network: VPC over the AZs, subnets, internet/NAT or VPC endpoints, security groups, peering.

One template serves both regions, so every per-region value is chosen with Fn::If on the Role conditions and
the subnet ranges are carved at render time (no Fn::Cidr or Fn::GetAZs: the local AWS stand-in mishandles both).
The regions may run different NAT counts (a minimal standby); each NAT gateway, route and interface endpoint
carries the condition of the roles that need it, while route tables exist in the same number on both sides.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from troposphere import GetAtt, If, Join, Ref, Select, Sub, Tags, ec2

from drgen.builders import inputs, vpc_endpoints
from drgen.builders.context import IS_PRIMARY, IS_SECONDARY, StackContext
from drgen.builders.inputs import FoundationInputs
from drgen.scenario.model import Role

VPC_CIDR = "VpcCidr"
ROLES = (Role.PRIMARY, Role.SECONDARY)
ANYWHERE = "0.0.0.0/0"
HTTPS = 443
# Regions whose AZ names skip letters (ca-central-1 has no "c"; ap-northeast-1b is closed to new accounts).
AZ_LETTERS = {"ca-central-1": "abd", "ap-northeast-1": "acd"}
DEFAULT_AZ_LETTERS = "abc"


@dataclass(frozen=True)
class NetworkHandles:
    vpc: Any
    private_subnets: list[Any]
    public_subnets: list[Any]
    private_route_tables: list[Any]
    database_security_group: Any


def vpc(ctx: StackContext) -> NetworkHandles:
    """The region's VPC with its subnets, routes, gateways/endpoints and the database security group."""
    the_vpc = ctx.add(
        ec2.VPC(
            "Vpc",
            CidrBlock=vpc_cidr(ctx),
            EnableDnsSupport=True,
            EnableDnsHostnames=True,
            Tags=_name(ctx, "vpc"),
        )
    )
    private_subnets = _subnets(ctx, the_vpc, "Private", public=False)
    private_tables = _private_route_tables(ctx, the_vpc, private_subnets)
    public_subnets: list[Any] = []
    if ctx.scenario.network.public_subnets:
        public_subnets = _subnets(ctx, the_vpc, "Public", public=True)
        attachment = _internet_gateway(ctx, the_vpc, public_subnets)
        _nat_gateways(ctx, public_subnets, private_tables, attachment)
    vpc_endpoints.gateway_endpoints(ctx, the_vpc, private_tables)
    _interface_endpoints(ctx, the_vpc, private_subnets)
    database_sg = _database_security_group(ctx, the_vpc)
    net = NetworkHandles(the_vpc, private_subnets, public_subnets, private_tables, database_sg)
    _outputs(ctx, net)
    return net


def peering_requester(ctx: StackContext, net: NetworkHandles) -> None:
    """Primary side of the inter-region peering: the connection (same account, auto-accepted) and its routes."""
    if not ctx.scenario.network.peering:
        return
    peer_vpc = inputs.peer_vpc_id(ctx)
    connection = ctx.add(
        ec2.VPCPeeringConnection(
            "PeeringConnection",
            Condition=IS_PRIMARY,
            VpcId=Ref(net.vpc),
            PeerVpcId=peer_vpc,
            PeerRegion=Ref("PeerRegion"),
            Tags=_name(ctx, "peering"),
        )
    )
    _peering_routes(
        ctx,
        "PeeringRoute",
        IS_PRIMARY,
        [Ref(t) for t in net.private_route_tables],
        ctx.scenario.network.secondary_cidr,
        Ref(connection),
    )
    ctx.output(inputs.PEERING_CONNECTION_ID, Ref(connection), "The inter-region VPC peering connection.", IS_PRIMARY)


def peering_accepter_routes(ctx: StackContext, foundation: FoundationInputs) -> None:
    """DR side of the peering: its private route tables reach the primary CIDR through the connection."""
    if not ctx.scenario.network.peering:
        return
    tables = [Select(i, foundation.private_route_table_ids) for i in range(ctx.scenario.network.az_count)]
    _peering_routes(
        ctx,
        "PeeringAccepterRoute",
        IS_SECONDARY,
        tables,
        ctx.scenario.network.primary_cidr,
        foundation.peering_connection_id,
    )


# -- helpers ----------------------------------------------------------------------------------------------
def _per_role(primary: Any, secondary: Any) -> Any:
    """One value for the primary stack and another for the DR stack (plain when they agree)."""
    return primary if primary == secondary else If(IS_PRIMARY, primary, secondary)


def _condition(roles: set[Role]) -> str | None:
    """The condition under which a resource exists in exactly ``roles`` (None: both)."""
    if roles == set(ROLES):
        return None
    return IS_PRIMARY if roles == {Role.PRIMARY} else IS_SECONDARY


def _conditional(roles: set[Role]) -> dict[str, str]:
    condition = _condition(roles)
    return {"Condition": condition} if condition else {}


def _name(ctx: StackContext, thing: str) -> Tags:
    return Tags(Name=ctx.names.regional("generic", thing))


def vpc_cidr(ctx: StackContext) -> Any:
    """This region's VPC CIDR (the app layer's security groups use it too)."""
    return _per_role(ctx.scenario.network.primary_cidr, ctx.scenario.network.secondary_cidr)


def peer_cidr(ctx: StackContext) -> Any:
    """The other region's VPC CIDR (reached over the peering, when there is one)."""
    return _per_role(ctx.scenario.network.secondary_cidr, ctx.scenario.network.primary_cidr)


def _subnet_cidrs(cidr: str, count: int, public: bool) -> list[str]:
    """/n+4 blocks: private ones from the start of the range, public ones from its second half."""
    blocks = list(ipaddress.ip_network(cidr).subnets(prefixlen_diff=4))
    start = len(blocks) // 2 if public else 0
    return [str(block) for block in blocks[start : start + count]]


def _availability_zone(ctx: StackContext, index: int) -> Any:
    """The index-th AZ of the stack's region, by name (``${AWS::Region}a``...)."""
    letters = {role: AZ_LETTERS.get(ctx.scenario.region(role), DEFAULT_AZ_LETTERS)[index] for role in ROLES}
    return _per_role(*(Sub("${AWS::Region}" + letters[role]) for role in ROLES))


def _subnets(ctx: StackContext, the_vpc: Any, kind: str, public: bool) -> list[Any]:
    network = ctx.scenario.network
    cidrs = {role: _subnet_cidrs(network.cidr(role), network.az_count, public) for role in ROLES}
    return [
        ctx.add(
            ec2.Subnet(
                f"{kind}Subnet{i + 1}",
                VpcId=Ref(the_vpc),
                CidrBlock=_per_role(cidrs[Role.PRIMARY][i], cidrs[Role.SECONDARY][i]),
                AvailabilityZone=_availability_zone(ctx, i),
                Tags=_name(ctx, f"{kind.lower()}-{i + 1}"),
            )
        )
        for i in range(network.az_count)
    ]


def _associate(ctx: StackContext, subnet: Any, table: Any) -> None:
    ctx.add(
        ec2.SubnetRouteTableAssociation(
            f"{subnet.title}RouteTableAssociation", SubnetId=Ref(subnet), RouteTableId=Ref(table)
        )
    )


def _private_route_tables(ctx: StackContext, the_vpc: Any, subnets: list[Any]) -> list[Any]:
    """One table per AZ in both regions, so the DR stack can address them by index."""
    tables = []
    for i, subnet in enumerate(subnets):
        table = ctx.add(
            ec2.RouteTable(f"PrivateRouteTable{i + 1}", VpcId=Ref(the_vpc), Tags=_name(ctx, f"private-{i + 1}"))
        )
        _associate(ctx, subnet, table)
        tables.append(table)
    return tables


def _internet_gateway(ctx: StackContext, the_vpc: Any, public_subnets: list[Any]) -> Any:
    """Internet gateway and the public route table; returns the attachment routes and EIPs wait for."""
    gateway = ctx.add(ec2.InternetGateway("InternetGateway", Tags=_name(ctx, "igw")))
    attachment = ctx.add(
        ec2.VPCGatewayAttachment("InternetGatewayAttachment", VpcId=Ref(the_vpc), InternetGatewayId=Ref(gateway))
    )
    table = ctx.add(ec2.RouteTable("PublicRouteTable", VpcId=Ref(the_vpc), Tags=_name(ctx, "public")))
    ctx.add(
        ec2.Route(
            "PublicDefaultRoute",
            DependsOn=attachment,
            RouteTableId=Ref(table),
            DestinationCidrBlock=ANYWHERE,
            GatewayId=Ref(gateway),
        )
    )
    for subnet in public_subnets:
        _associate(ctx, subnet, table)
    return attachment


def _nat_index(count: int, table_index: int) -> int | None:
    """Which NAT gateway a private table routes through: its own AZ's, the single one, or none."""
    if count == 0:
        return None
    return table_index if count > 1 else 0


def _nat_gateways(ctx: StackContext, public_subnets: list[Any], tables: list[Any], attachment: Any) -> None:
    """Each role gets its own NAT count; every private table defaults to the NAT in its AZ (or the only one)."""
    counts = {role: ctx.scenario.network.nat_count(role) for role in ROLES}
    gateways = []
    for i in range(max(counts.values())):
        roles = {role for role in ROLES if i < counts[role]}
        eip = ctx.add(
            ec2.EIP(
                f"NatEip{i + 1}",
                DependsOn=attachment,
                Domain="vpc",
                Tags=_name(ctx, f"nat-{i + 1}"),
                **_conditional(roles),
            )
        )
        gateways.append(
            ctx.add(
                ec2.NatGateway(
                    f"NatGateway{i + 1}",
                    AllocationId=GetAtt(eip, "AllocationId"),
                    SubnetId=Ref(public_subnets[i]),
                    Tags=_name(ctx, f"nat-{i + 1}"),
                    **_conditional(roles),
                )
            )
        )
    for j, table in enumerate(tables):
        nat = {role: Ref(gateways[k]) for role in ROLES if (k := _nat_index(counts[role], j)) is not None}
        if not nat:
            continue
        targets = list(nat.values())
        ctx.add(
            ec2.Route(
                f"PrivateDefaultRoute{j + 1}",
                RouteTableId=Ref(table),
                DestinationCidrBlock=ANYWHERE,
                # a route in one role only needs no Fn::If: its condition already picks the role
                NatGatewayId=_per_role(*targets) if len(targets) == 2 else targets[0],
                **_conditional(set(nat)),
            )
        )


def _interface_endpoints(ctx: StackContext, the_vpc: Any, subnets: list[Any]) -> None:
    """In a region without NAT, private DNS endpoints for the AWS APIs the workloads call."""
    roles = {role for role in ROLES if ctx.scenario.network.nat_count(role) == 0}
    if roles:
        group = _security_group(ctx, the_vpc, "EndpointSecurityGroup", "Interface endpoints", HTTPS, roles)
        vpc_endpoints.interface_endpoints(ctx, the_vpc, subnets, group, _conditional(roles))


def _database_security_group(ctx: StackContext, the_vpc: Any) -> Any:
    return _security_group(
        ctx,
        the_vpc,
        "DatabaseSecurityGroup",
        "Aurora PostgreSQL",
        ctx.scenario.database.port,
        set(ROLES),
    )


def _security_group(ctx: StackContext, the_vpc: Any, title: str, purpose: str, port: int, roles: set[Role]) -> Any:
    """A group admitting ``port`` from the VPC CIDR and, when peered, the peer CIDR (peer SGs can't be
    referenced across regions). Its one egress rule, to the VPC on the same port, replaces the default
    allow-all; replies to admitted connections need none (security groups are stateful)."""
    sources = [(vpc_cidr(ctx), "this VPC")]
    if ctx.scenario.network.peering:
        sources.append((peer_cidr(ctx), "the peered VPC in the other region"))
    return ctx.add(
        ec2.SecurityGroup(
            title,
            GroupDescription=f"{purpose}: TCP {port} from {' and '.join(what for _, what in sources)}",
            VpcId=Ref(the_vpc),
            SecurityGroupIngress=[
                ec2.SecurityGroupRule(
                    IpProtocol="tcp", FromPort=port, ToPort=port, CidrIp=cidr, Description=f"TCP {port} from {what}"
                )
                for cidr, what in sources
            ],
            SecurityGroupEgress=[
                ec2.SecurityGroupRule(
                    IpProtocol="tcp",
                    FromPort=port,
                    ToPort=port,
                    CidrIp=vpc_cidr(ctx),
                    Description=f"TCP {port} within this VPC only (replaces the default allow-all)",
                )
            ],
            Tags=_name(ctx, title.removesuffix("SecurityGroup").lower()),
            **_conditional(roles),
        )
    )


def _peering_routes(
    ctx: StackContext, prefix: str, condition: str, tables: list[Any], destination: str, connection: Any
) -> None:
    for i, table in enumerate(tables):
        ctx.add(
            ec2.Route(
                f"{prefix}{i + 1}",
                Condition=condition,
                RouteTableId=table,
                DestinationCidrBlock=destination,
                VpcPeeringConnectionId=connection,
            )
        )


def _outputs(ctx: StackContext, net: NetworkHandles) -> None:
    ctx.output(inputs.VPC_ID, Ref(net.vpc), "The region's VPC.")
    ctx.output(VPC_CIDR, GetAtt(net.vpc, "CidrBlock"), "The region's VPC CIDR block.")
    ctx.output(
        inputs.PRIVATE_SUBNET_IDS,
        Join(",", [Ref(s) for s in net.private_subnets]),
        "Private subnet IDs, one per AZ, comma-separated.",
    )
    if net.public_subnets:
        ctx.output(
            inputs.PUBLIC_SUBNET_IDS,
            Join(",", [Ref(s) for s in net.public_subnets]),
            "Public subnet IDs, one per AZ, comma-separated.",
        )
    ctx.output(
        inputs.PRIVATE_ROUTE_TABLE_IDS,
        Join(",", [Ref(t) for t in net.private_route_tables]),
        "Private route table IDs, one per AZ, comma-separated (same order as the subnets).",
    )
    ctx.output(
        inputs.DATABASE_SECURITY_GROUP_ID,
        GetAtt(net.database_security_group, "GroupId"),
        "Security group of the Aurora cluster.",
    )
