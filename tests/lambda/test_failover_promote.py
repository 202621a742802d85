"""failover/promote.py: make the target the writer; idempotent; failback targets the primary's cluster.

moto 5.2.5 does not implement FailoverGlobalCluster or SwitchoverGlobalCluster (HTTP 500); the
``promotion_calls`` fixture stands in for exactly those two operations (see its docstring).
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from drgen_common.failover import PromotionCancelledError, Request
from failover import promote

from .conftest import DR


@pytest.fixture
def env(global_database, monkeypatch):
    monkeypatch.setenv("GLOBAL_CLUSTER_ID", global_database.identifier)
    monkeypatch.setenv("DR_CLUSTER_ARN", global_database.dr_arn)
    return global_database


def _writer(cloud, identifier):
    cluster = cloud("rds", DR).describe_global_clusters(GlobalClusterIdentifier=identifier)["GlobalClusters"][0]
    return [m["DBClusterArn"] for m in cluster["GlobalClusterMembers"] if m["IsWriter"]]


def test_unplanned_failover_promotes_with_data_loss_allowed_and_twice_is_the_same(cloud, env, promotion_calls):
    assert promote.status_handler({}, None)["promoted"] is False
    first = promote.handler({"planned": False}, None)
    assert first["action"] == "failover" and first["changed"] is True and first["target"] == env.dr_arn
    assert promotion_calls == [
        (
            "failover",
            {
                "global_cluster_identifier": env.identifier,
                "target_db_cluster_identifier": env.dr_arn,
                "allow_data_loss": True,
            },
        )
    ]
    assert _writer(cloud, env.identifier) == [env.dr_arn]
    second = promote.handler({"planned": False}, None)
    assert second["action"] == "none" and second["changed"] is False
    assert len(promotion_calls) == 1 and _writer(cloud, env.identifier) == [env.dr_arn]
    assert promote.status_handler({}, None) == {
        "promoted": True,
        "target": env.dr_arn,
        "writer": env.dr_arn,
        "failover_status": "",
    }


def test_planned_failover_switches_over_without_data_loss(cloud, env, promotion_calls):
    assert promote.handler({"planned": True}, None)["action"] == "switchover"
    assert [action for action, _ in promotion_calls] == ["switchover"]
    assert "allow_data_loss" not in promotion_calls[0][1]
    assert _writer(cloud, env.identifier) == [env.dr_arn]


def test_failback_makes_the_primary_cluster_the_writer_again(cloud, env, promotion_calls):
    promote.handler({}, None)
    back = promote.handler({"mode": "failback"}, None)
    assert back["action"] == "switchover" and back["target"] == env.primary_arn
    assert _writer(cloud, env.identifier) == [env.primary_arn]
    assert promote.status_handler({"mode": "failback"}, None)["promoted"] is True


class _Rds:
    """What RDS reports around a failover under way (moto has no FailoverState): a describe-result stand-in.

    ``busy_after_describe`` makes the first describe show no failover yet and the failover call answer
    InvalidGlobalClusterStateFault, as when an earlier attempt of this step started it in between.
    """

    def __init__(self, *, busy_after_describe: bool = False) -> None:
        self.state = {"Status": "failing-over", "FromDbClusterArn": PRIMARY_ARN, "ToDbClusterArn": DR_ARN}
        self.describes = 0 if busy_after_describe else 1
        self.failovers = 0

    def describe_global_clusters(self, **_):
        self.describes += 1
        members = [{"DBClusterArn": PRIMARY_ARN, "IsWriter": True}, {"DBClusterArn": DR_ARN, "IsWriter": False}]
        cluster = {"GlobalClusterIdentifier": "g", "GlobalClusterMembers": members}
        if self.describes > 1:
            cluster["FailoverState"] = self.state
        return {"GlobalClusters": [cluster]}

    def failover_global_cluster(self, **_):
        self.failovers += 1
        error = {"Error": {"Code": "InvalidGlobalClusterStateFault", "Message": "failover in progress"}}
        raise ClientError(error, "FailoverGlobalCluster")


PRIMARY_ARN = "arn:aws:rds:eu-central-1:123456789012:cluster:primary"
DR_ARN = "arn:aws:rds:eu-west-2:123456789012:cluster:dr"


def test_a_failover_under_way_is_neither_restarted_nor_reported_done():
    rds = _Rds()
    kwargs = {"rds": rds, "global_cluster_id": "g", "dr_cluster_arn": DR_ARN}
    assert promote.promote(Request(), rds_in=lambda _: rds, **kwargs)["action"] == "none" and rds.failovers == 0
    status = promote.promotion_status(Request(), **kwargs)
    assert status["promoted"] is False and status["failover_status"] == "failing-over"


def test_a_failover_started_by_an_earlier_attempt_is_not_an_error():
    rds = _Rds(busy_after_describe=True)
    result = promote.promote(Request(), rds=rds, rds_in=lambda _: rds, global_cluster_id="g", dr_cluster_arn=DR_ARN)
    assert result["action"] == "none" and result["changed"] is False and rds.failovers == 1


def test_an_unplanned_failover_switches_over_without_loss_while_the_primary_writer_still_replicates(
    cloud, env, promotion_calls
):
    """Defect 7: the confirm step saw the primary writer's heartbeat fresh on the replica (an application fault,
    not a lost database): the promotion loses nothing."""
    result = promote.handler({"planned": False, "writer_alive": True}, None)
    assert result["action"] == "switchover" and result["lossless"] is True
    assert [action for action, _ in promotion_calls] == ["switchover"]


def test_a_cancelled_promotion_fails_at_once_instead_of_waiting_out_the_clock():
    """API_FailoverState: "cancelling – The request to switch over or fail over the global cluster was cancelled
    and the primary ... and the selected secondary ... are returning to their previous states". Counted as under
    way, it made promote answer "none" and the status step poll for ten minutes."""
    rds = _Rds()
    rds.state = {**rds.state, "Status": "cancelling"}
    kwargs = {"rds": rds, "global_cluster_id": "g", "dr_cluster_arn": DR_ARN}
    with pytest.raises(PromotionCancelledError, match=r"cancelled the promotion of .*:cluster:dr"):
        promote.promotion_status(Request(), **kwargs)
    with pytest.raises(PromotionCancelledError):
        promote.promote(Request(), rds_in=lambda _: rds, **kwargs)
    assert rds.failovers == 0


class _Regions:
    """RDS clients per Region that record where each promotion call is made (IsWriter as given)."""

    def __init__(self, writer: str) -> None:
        self.writer, self.calls = writer, []

    def __call__(self, region: str):
        regions = self

        class _Client:
            def describe_global_clusters(self, **_):
                members = [{"DBClusterArn": arn, "IsWriter": arn == regions.writer} for arn in (PRIMARY_ARN, DR_ARN)]
                return {"GlobalClusters": [{"GlobalClusterIdentifier": "g", "GlobalClusterMembers": members}]}

            def switchover_global_cluster(self, **_):
                regions.calls.append(("switchover", region))

            def failover_global_cluster(self, **_):
                regions.calls.append(("failover", region))

        return _Client()


@pytest.mark.parametrize(
    ("request_", "writer", "expected"),
    [
        (Request(planned=True), PRIMARY_ARN, ("switchover", "eu-central-1")),  # the primary's Region
        (Request(planned=False), PRIMARY_ARN, ("failover", "eu-west-2")),  # the target's: never the lost Region
        (Request(planned=True, mode="failback"), DR_ARN, ("switchover", "eu-west-2")),  # DR writes now
    ],
    ids=["planned", "unplanned", "failback"],
)
def test_each_promotion_is_called_in_the_region_aws_procedure_names(request_, writer, expected):
    """aurora-global-database-disaster-recovery.html: a switchover's "--region – Specify the AWS Region where the
    primary DB cluster of the Aurora global database is running"; a failover's "--region – Specify the AWS Region
    where the secondary DB cluster that you want to be the new primary ... is running". The DR function called
    both in its own Region."""
    regions = _Regions(writer)
    promote.promote(request_, rds=regions("eu-west-2"), rds_in=regions, global_cluster_id="g", dr_cluster_arn=DR_ARN)
    assert regions.calls == [expected]


class _Unanswered(_Regions):
    """The primary region's RDS API does not answer (the connection fails, as botocore reports it)."""

    def __call__(self, region: str):
        client = super().__call__(region)
        if region == "eu-central-1":

            def unanswered(**_):
                from botocore.exceptions import EndpointConnectionError

                self.calls.append(("switchover", region))
                raise EndpointConnectionError(endpoint_url=f"https://rds.{region}.amazonaws.com")

            client.switchover_global_cluster = unanswered
        return client


def test_an_unplanned_switchover_the_primary_does_not_answer_fails_over_and_a_planned_one_fails(monkeypatch):
    """A switchover needs every cluster and service healthy ("designed to be used on an Aurora global database
    where all the Aurora clusters and other services they interact with are in a healthy state"); an unplanned
    run chose it only because the writer still replicated, so when the primary region's API does not answer it
    fails over in the DR region, as any unplanned run. A planned run loses nothing: it fails."""
    from botocore.exceptions import EndpointConnectionError

    retried = promote.retry
    monkeypatch.setattr(promote, "retry", lambda call, /, *a, **kw: retried(call, *a, sleep=lambda _: None, **kw))
    regions = _Unanswered(PRIMARY_ARN)
    kwargs = {"rds_in": regions, "global_cluster_id": "g", "dr_cluster_arn": DR_ARN}
    result = promote.promote(Request(planned=False), rds=regions("eu-west-2"), writer_alive=True, **kwargs)
    assert result["action"] == "failover" and result["lossless"] is False
    # two attempts at the switchover (the step's timeout must leave room for the failover), then the failover
    assert regions.calls == [("switchover", "eu-central-1")] * 2 + [("failover", "eu-west-2")]
    with pytest.raises(EndpointConnectionError):
        promote.promote(Request(planned=True), rds=regions("eu-west-2"), **kwargs)
