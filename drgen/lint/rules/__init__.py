"""drgen's cfn-lint rules for DR-specific mistakes, one rule class per file.

cfn-lint loads this directory through ``append_rules``: it executes every ``[A-Za-z1-9]*.py`` file here as a
standalone module and instantiates each ``CloudFormationLintRule`` subclass it finds. Files starting with an
underscore (like ``_template.py``, the shared helpers) are not rule files.
"""
