"""AWS Backup: a vault in each region and, in the primary, a daily plan copying every recovery point to the DR vault.

Aurora's automated backups (point-in-time restore) live and die with the cluster in its own region, and the global
database's replica is no backup (a bad write replicates within a second). AWS Backup adds recovery points kept for
the scenario's retention, managed in one place, with a copy in the DR region. An Aurora recovery point stays
encrypted with the cluster's key; its cross-region copy is re-encrypted with the DR vault's key, the DR region's
drgen key. The keys need no statement for this: the backup role is an IAM role of this account, the key policies
delegate to IAM (``account_administers_key``), and the role's AWS managed policy grants what RDS's cross-region
snapshot copy needs (kms:DescribeKey, and kms:CreateGrant for AWS resources only).
"""

from __future__ import annotations

from typing import Any

from troposphere import GetAtt, Ref, Sub, backup, iam

from drgen.builders.context import IS_PRIMARY, StackContext
from drgen.builders.database import ClusterHandles
from drgen.builders.iam import DESTROYABLE, service_trust
from drgen.builders.inputs import FoundationInputs
from drgen.builders.tags import tag_values

VAULT = "vault"
PLAN = "backup"
RULE = "daily"
SELECTION = "dr-data"
# The shortest start window AWS Backup accepts: a job that cannot start within an hour of the schedule is
# reported as missed rather than drifting into business hours.
START_WINDOW_MINUTES = 60
BACKUP_VAULT_ARN = "BackupVaultArn"
# AWS managed policies on purpose: AWS Backup snapshots, copies, tags and deletes recovery points whose ARNs
# (rds:cluster-snapshot:awsbackup:job-..., DynamoDB backups) it names at run time, across services and in the
# DR region; AWS keeps these policies in step with the service. The role can only be assumed by AWS Backup.
MANAGED_POLICIES = ("AWSBackupServiceRolePolicyForBackup", "AWSBackupServiceRolePolicyForRestores")


def vaults_and_plan(ctx: StackContext, foundation: FoundationInputs, cluster: ClusterHandles) -> None:
    """The region's vault; in the primary also the plan, its role and the selection of the DR data."""
    if not ctx.scenario.backup.enabled:
        return
    vault = _vault(ctx, foundation)
    plan = _plan(ctx, vault)
    _selection(ctx, plan, _role(ctx), cluster)


def _vault(ctx: StackContext, foundation: FoundationInputs) -> backup.BackupVault:
    """Both regions: the primary's recovery points land here, the DR vault receives their copies."""
    vault = ctx.add(
        backup.BackupVault(
            "BackupVault",
            BackupVaultName=ctx.names.regional("backup", VAULT),
            EncryptionKeyArn=foundation.kms_key_arn,
            # Vaults take tags as a map, which the scenario-wide tagging (resource Tags lists) does not reach.
            BackupVaultTags=_tag_map(ctx),
            **DESTROYABLE,
        )
    )
    ctx.output(BACKUP_VAULT_ARN, GetAtt(vault, "BackupVaultArn"), "This region's AWS Backup vault.")
    return vault


def _plan(ctx: StackContext, vault: backup.BackupVault) -> backup.BackupPlan:
    """Primary only: one rule, on the scenario's schedule, into this region's vault."""
    return ctx.add(
        backup.BackupPlan(
            "BackupPlan",
            Condition=IS_PRIMARY,
            BackupPlan=backup.BackupPlanResourceType(
                BackupPlanName=ctx.names.regional("backup", PLAN), BackupPlanRule=[_rule(ctx, vault)]
            ),
            BackupPlanTags=_tag_map(ctx),
        )
    )


def _rule(ctx: StackContext, vault: backup.BackupVault) -> backup.BackupRuleResourceType:
    """Keep each recovery point for the scenario's retention, and a copy just as long in the DR region's vault."""
    settings = ctx.scenario.backup
    keep = backup.LifecycleResourceType(DeleteAfterDays=settings.retention_days)
    return backup.BackupRuleResourceType(
        RuleName=RULE,
        TargetBackupVault=Ref(vault),
        ScheduleExpression=settings.schedule,
        StartWindowMinutes=START_WINDOW_MINUTES,
        Lifecycle=keep,
        CopyActions=[backup.CopyActionResourceType(DestinationBackupVaultArn=_peer_vault_arn(ctx), Lifecycle=keep)],
    )


def _peer_vault_arn(ctx: StackContext) -> Sub:
    """The DR region's vault, by its deterministic name (its stack deploys after this one)."""
    name = ctx.names.peer_text("backup", VAULT)
    return Sub(f"arn:${{AWS::Partition}}:backup:${{PeerRegion}}:${{AWS::AccountId}}:backup-vault:{name}")


def _role(ctx: StackContext) -> iam.Role:
    """The role AWS Backup assumes to take, copy, restore and expire the plan's recovery points."""
    return ctx.add(
        iam.Role(
            "BackupRole",
            Condition=IS_PRIMARY,
            RoleName=ctx.names.regional("iam", "backup"),
            AssumeRolePolicyDocument=service_trust("backup.amazonaws.com"),
            ManagedPolicyArns=[
                Sub(f"arn:${{AWS::Partition}}:iam::aws:policy/service-role/{policy}") for policy in MANAGED_POLICIES
            ],
        )
    )


def _selection(ctx: StackContext, plan: backup.BackupPlan, role: iam.Role, cluster: ClusterHandles) -> None:
    """The primary's Aurora cluster and the scenario's global tables (sessions, the order ledger)."""
    resources: list[Any] = [GetAtt(cluster.primary, "DBClusterArn")]
    scenario = ctx.scenario
    tables = [(scenario.sessions.enabled, scenario.sessions.table), (scenario.ledger.enabled, scenario.ledger.table)]
    for table in (ctx.names.fixed("table", purpose) for enabled, purpose in tables if enabled):
        # The table builders return no handle; the names are deterministic (the primary's replica).
        resources.append(Sub(f"arn:${{AWS::Partition}}:dynamodb:${{AWS::Region}}:${{AWS::AccountId}}:table/{table}"))
    ctx.add(
        backup.BackupSelection(
            "BackupSelection",
            Condition=IS_PRIMARY,
            BackupPlanId=GetAtt(plan, "BackupPlanId"),
            BackupSelection=backup.BackupSelectionResourceType(
                SelectionName=SELECTION,
                IamRoleArn=GetAtt(role, "Arn"),
                Resources=resources,
            ),
        )
    )


def _tag_map(ctx: StackContext) -> dict[str, Any]:
    return dict(tag_values(ctx))
