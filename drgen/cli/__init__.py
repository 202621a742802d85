"""The command line's frame: the group, the one error handler, the shared options.

Every command (drgen/commands/) imports from here and nothing here imports a command: drgen/main.py puts the
program together. Nothing here imports boto3 or rich, so ``drgen --help`` stays fast.
"""
