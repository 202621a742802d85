"""Tests of deploy, plan and destroy: against moto's server over HTTP, and pure units."""
