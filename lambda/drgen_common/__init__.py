"""Code every drgen Lambda function shares; the packager puts this package next to each function's modules.

Modules: ``contract`` (the names drgen's templates and these functions share: metrics, environment variables,
refusals, payload fields), ``config`` (environment), ``logs`` (JSON log lines), ``retry`` (backoff with full jitter),
``aws`` (boto3 clients whose only retry layer is ``retry``), ``db`` (pg8000 with Secrets Manager credentials),
``schema`` (the tables the functions share), ``metrics`` and ``notify`` (CloudWatch and SNS), ``probe``
(HTTP checks of an endpoint) and ``failover`` (what the failover steps agree on: request, roles, errors).
Only boto3 (in the Lambda runtime) and pg8000 (vendored by the packager) are imported.
"""
