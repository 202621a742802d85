"""Tests of the preflight: the documented table, each check on stubbed AWS clients, and the CLI against moto."""
