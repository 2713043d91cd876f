"""SIEM export: alerts and activities as CEF lines, framed as syslog and sent over UDP, TCP or TLS.

`cef` turns plain `CefActivity` / `CefAlert` records into CEF lines (the spec's field mapping,
section 6.3); `syslog` frames them (RFC 3164 / 3164 with year / RFC 5424 time, optional PRI and
host name) and `SyslogSender` delivers them. Neither module touches the database: the outbox maps
model rows onto these records.
"""
