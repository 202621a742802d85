"""drgen: multi-region disaster recovery on AWS, rendered as CloudFormation."""

__version__ = "0.1.0"
