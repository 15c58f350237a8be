"""Reporting: what the runs are turned into.

``stats`` (``mean_ci``: the one interval, inside its quantity's range; one-sided tests, Holm's adjustment, the
seeds a threshold needs; ``format_ci``: the one text form of a statistic over seeds), ``summary`` (reading
results, the summary table), ``claims`` (the claims ledger: verdict rules, categories, multiplicity, power), ``row_regime``
(which runs each ledger row reads, and its regime in words),
``commits`` (committed runs made from a dirty tree or at several commits), ``regimes`` (one experiment's runs in
each regime beside the original's published run),
``ablations`` (the ablations chapter's statistics, from the committed results alone), ``figdata`` (what the
figures plot, shared by the static and the interactive ones; ``figdata.pareto_front`` is the one Pareto front),
``plots``, ``plots_ablations`` and ``interactive`` (the figures).
"""
