"""The book: profiles, what a chapter calls, the papermill runner and the provenance of every page.

``profiles`` (paper / quick / smoke), ``chapter`` (the experiment chapters' entry points), ``page`` (the
banner naming profile, data and device), ``runbook`` (executing the chapters; the one table-of-contents
reader), ``provenance`` (the status page).
"""
