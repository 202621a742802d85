"""Operate a deployed scenario: readiness, failover and failback, and the local drill.

Modules, one concern each:

- ``lambdas``: imports the Lambda code in lambda/ (the failover steps run by the drill are the shipped code)
- ``environment``: the identifiers of a deployed scenario (names from the scenario, ids from stack outputs)
- ``asl``: a small interpreter of the failover state machine's definition, for runs where Step Functions cannot
- ``execution``: the real thing: start the DR region's state machine and follow its history step by step
- ``readiness``: is the standby ready to take over
- ``sandbox``: what moto cannot build from the templates, created through the service APIs; the promotion stand-in
- ``drill``: the whole rehearsal against a moto server started here

boto3 is imported only inside this package and drgen.deploy, so ``drgen --help`` stays fast.
"""
