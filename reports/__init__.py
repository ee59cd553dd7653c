"""Reports officers hand in (issue 17): documents rendered from the same JSON the commands print, so a
report shows exactly the figures of `facmon score ... --format json`, the pages and the dashboards.

- :mod:`.document`: HTML from Jinja2 templates, PDF through WeasyPrint (A4, the site and period on every
  page, page numbers, tables that break cleanly, Noto Sans CJK embedded).
- :mod:`.charts`: matplotlib charts as SVG, legible in print and in grayscale.
- :mod:`.vendor_report`: the vendor assessment report (one page per vendor that can be handed to it) and
  its workbook.
- :mod:`.energy_report`: the energy report's first part (consumption, intensities, sub-items, GB/T 51161,
  the score and ranking, with the days each figure rests on).

Imports only the core: the command line computes the figures and passes their JSON.
"""
