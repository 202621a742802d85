"""Tests of the Lambda code in lambda/: against moto's server over HTTP and a real PostgreSQL."""
