"""Tests of the change-board review: report, diagram, security scan, browser check."""
