"""The book: what a chapter calls, the papermill runner and the provenance of every page.

``chapter`` (the experiment chapters' entry points), ``page`` (the banner naming profile, data and device),
``runbook`` (executing the chapters; the one table-of-contents reader), ``epochbar`` (its progress line in training
epochs), ``finding`` (a chapter's finding with its numbers, on the terminal and in Jupyter), ``regimes_page`` (the
regimes side by side in a chapter); ``<chapter>_page`` modules glue one chapter's results, ``provenance`` (the status page).
The profiles the book runs under are ``selcore.profiles``, one layer down, shared with the sweeps.
"""
