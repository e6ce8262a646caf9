"""SATUSEHAT, the Ministry of Health's FHIR R4 platform: what the chat records, as FHIR resources.

One module per resource, each a pure function of plain data (the facts of :mod:`satusehat.facts`) that
returns a resource as a JSON dict, built and validated by ``fhir.resources``' R4B models:
:mod:`satusehat.patient` (NIK identifiers and the Patient search), :mod:`satusehat.encounter` (a visit),
:mod:`satusehat.observation` (a measurement), :mod:`satusehat.immunization` (a dose). :mod:`satusehat.rules`
checks SATUSEHAT's own rules on top of FHIR's (identifier systems with the organization id, UTC times, the
codes it requires) and returns problems; :mod:`satusehat.problems` words them. The code tables are data in
``content/satusehat``. :mod:`satusehat.export` reads a period from the database and writes FHIR Bundles.

Imports ``care``, ``content`` and ``db`` only; nothing below it imports it.
"""
