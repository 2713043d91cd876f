"""The ICAP server (RFC 3507) of content inspection: `manage.py icapserver`.

`protocol` reads and writes the wire format, `files` finds the files in an encapsulated HTTP
message, `services` holds the tenant's settings, secret and the server's authentication,
`handler` answers one connection, `server` accepts connections (optionally over TLS).
"""
