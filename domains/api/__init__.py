"""The domains room's REST API (issue 15): domUs, their actions, versions, snapshots, moves.

Every write goes through the function the page calls (domains.flows, the edit page's
`save_edit`, the snapshot and migration views' queue functions): the API accepts and refuses
exactly what the pages do.
"""
