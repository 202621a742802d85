"""Deploy, plan and destroy a rendered bundle across both regions and the global layer.

Modules, one concern each:

- ``bundle``: what to deploy (a rendered bundle in memory or a directory, verified against its manifest)
- ``plan``: the dependency graph as plain data (waves, reverse order, per-stack decisions)
- ``session``: boto3 clients per region, retry configuration, credential and endpoint errors
- ``sandbox``: the template adjustments a moto endpoint needs (moto is the local AWS stand-in)
- ``artifacts``: the per-region artifact bucket, template and Lambda zip uploads
- ``changesets``: create, classify, execute and discard change sets
- ``stacks`` / ``stacksets``: one node of the graph in stacks or StackSets mode
- ``executor``: runs the graph on a thread pool; a failure skips its dependents
- ``deployer`` / ``destroy``: the two operations end to end
- ``record``: the deployment record under ``.drgen/``
- ``progress``: the live table (TTY) or plain lines

boto3 is imported only inside this package, so ``drgen --help`` stays fast.
"""
