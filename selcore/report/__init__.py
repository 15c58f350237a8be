"""Reporting: what the runs are turned into.

``stats`` (intervals, rank correlation, the one number formatter), ``summary`` (reading results, the summary
table), ``claims`` (the claims ledger and its verdict rule), ``plots`` and ``plots_ablations`` (the figures).
"""
