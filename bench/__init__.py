"""drgen's benchmarks (``make bench``; not part of ``make test``): render, lint, sandbox deploy, scaling, and
render + lint against the CDK anchor's synth.

Each figure is measured at least five times on the machine that runs it and reported as min / median / max;
the targets from issues 6 and 17 are checked on the median (peak memory and poll rates on the maximum) and
printed as PASS/FAIL lines. Results go to ``bench/results.json`` and ``bench/results.md``, and the table into
``docs/performance.md``.
"""
