"""Reporting: what the runs are turned into.

``stats`` (intervals from ``scipy.stats``, ``format_ci``: the one text form of a statistic over seeds),
``summary`` (reading results, the summary table), ``claims`` (the claims ledger and its verdict rule),
``ablations`` (the ablations chapter's statistics, from the committed results alone), ``figdata`` (what the
figures plot, shared by the static and the interactive ones; ``figdata.pareto_front`` is the one Pareto front),
``plots``, ``plots_ablations`` and ``interactive`` (the figures).
"""
