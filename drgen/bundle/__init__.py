"""The rendered bundle: the only contract between render and everything downstream.

``manifest`` holds the manifest's types and its format version, ``reader`` the one reader (every file checked
against the sha256 the manifest recorded), ``evaluate`` the one evaluator of a template's conditions and
intrinsic functions as one stack sees them, and ``catalogue`` the resource types that hold data. Budget,
review, stability, quotas, lint, scan, operate and deploy read bundles only through this package, and nothing
here imports the builders or troposphere, so operating a bundle from disk never loads the renderer.
"""
