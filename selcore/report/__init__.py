"""Reporting: what the runs are turned into.

``stats`` (intervals from ``scipy.stats``, ``format_ci``: the one text form of a statistic over seeds),
``summary`` (reading results, the summary table), ``claims`` (the claims ledger and its verdict rule),
``ablations`` (the ablations chapter's statistics, from the committed results alone), ``plots`` and
``plots_ablations`` (the figures; ``plots.pareto_front`` is the one Pareto front).
"""
