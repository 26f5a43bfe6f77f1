"""The storage room's API (issue 15): volumes and ISO images under /api/v1/.

Every rule is the pages' code: visibility and roles from `accounts.access`, input through the
same Django forms (`storage.forms`), the create/fetch/upload/destroy/delete flows the pages call
too (`storage.flows`: a refusal is the page's message and the API's 409). The tus uploads live in
`storage.api_uploads`.
"""
