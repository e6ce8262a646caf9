"""Pure care rules: no I/O, no clock, nothing else of the project imported.

Every function takes the date it decides for (``on`` / ``today``) and the person's data and
returns a decision. The data they interpret lives in ``content/``.
"""
