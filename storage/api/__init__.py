"""The storage room's API (issue 15): volumes and ISO images under /api/v1/.

Every rule is the pages' code: visibility and roles from `accounts.access`, input through the
same Django forms (`storage.forms`), the create/fetch/destroy/delete flows from the page views
(`storage.views.volumes`, `storage.views.isos`). The tus uploads live in `storage.api_uploads`.
"""
