"""Console forms of the integrations page: a SIEM agent and a webhook, to add or to edit.

They only turn fields into the services' shape (`values()`); the rules (https only, host and
port ranges, data kinds, known activity types and apps of this tenant) live in
`services.clean_destination`, whose refusals the views put back on the fields.
"""

from __future__ import annotations

from django import forms

from apps.activities.categories import ActivityType
from apps.alerts.models import Severity

from .models import Destination, EventKind
from .services import TIME_FORMATS, TRANSPORTS

_SEVERITIES = [(str(value), f"{label} and above") for value, label in Severity.choices]
_TRANSPORT_LABELS = {"udp": "UDP", "tcp": "TCP (octet counting, RFC 6587)", "tls": "TLS (RFC 5425)"}
TIME_LABELS = {
    "rfc3164": "RFC 3164 (Mar 02 21:10:02)",
    "rfc3164_year": "RFC 3164 with year (Mar 02 2023 21:10:02)",
    "rfc5424": "RFC 5424 (2023-03-02T21:10:02.022Z)",
}


class _DestinationForm(forms.Form):
    name = forms.CharField(max_length=120, help_text="For you only, e.g. “Splunk production”.")

    def __init__(self, *args, apps=(), **kwargs):
        super().__init__(*args, **kwargs)
        if "apps" in self.fields:
            self.fields["apps"].choices = list(apps)


class SiemForm(_DestinationForm):
    host = forms.CharField(
        label="Syslog server", max_length=253, help_text="Host name or IP address."
    )
    port = forms.IntegerField(label="Port", min_value=1, max_value=65535, initial=514)
    transport = forms.ChoiceField(
        label="Protocol",
        choices=[(t, _TRANSPORT_LABELS[t]) for t in TRANSPORTS],
        initial="tcp",
        help_text="TLS needs TLS 1.2 or newer and a certificate the server's CA signed.",
    )
    ca_pem = forms.CharField(
        label="CA certificate (PEM, TLS only)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Leave empty to trust the public CAs.",
    )
    time_format = forms.ChoiceField(
        label="Time format", choices=[(t, TIME_LABELS[t]) for t in TIME_FORMATS], initial="rfc5424"
    )
    include_pri = forms.BooleanField(label="Include PRI", required=False, initial=True)
    hostname = forms.CharField(
        label="System name",
        max_length=255,
        required=False,
        help_text="Written before each CEF line (e.g. LAB-EUW-ARCTEST); empty: none.",
    )
    reference_compat = forms.BooleanField(
        label="Byte-compatible with the reference product's samples",
        required=False,
        help_text="For parsers written against the reference product's CEF lines.",
    )
    data_kinds = forms.MultipleChoiceField(
        label="Data to send",
        widget=forms.CheckboxSelectMultiple,
        choices=[(EventKind.ALERT, "Alerts"), (EventKind.ACTIVITIES, "Activities")],
        initial=[EventKind.ALERT, EventKind.ACTIVITIES],
        error_messages={"required": "Choose at least one kind of data to send."},
    )
    min_severity = forms.ChoiceField(
        label="Alerts: severity", choices=_SEVERITIES, initial="0", required=False
    )
    activity_types = forms.MultipleChoiceField(
        label="Activities: only these types",
        widget=forms.CheckboxSelectMultiple,
        choices=ActivityType.choices,
        required=False,
        help_text="None checked: every type. Private activities are never sent.",
    )
    apps = forms.MultipleChoiceField(
        label="Activities: only these apps",
        widget=forms.CheckboxSelectMultiple,
        choices=(),
        required=False,
        help_text="None checked: every app.",
    )

    @classmethod
    def for_destination(cls, destination: Destination, data=None, **kwargs) -> SiemForm:
        config, filters = destination.config or {}, destination.filters or {}
        initial = {
            "name": destination.name,
            **{key: config.get(key) for key in ("host", "port", "transport", "time_format")},
            "include_pri": bool(config.get("include_pri")),
            "hostname": config.get("hostname", ""),
            "ca_pem": config.get("ca_pem", ""),
            "reference_compat": bool(config.get("reference_compat")),
            "data_kinds": destination.data_kinds,
            "min_severity": str(filters.get("min_severity", 0)),
            "activity_types": filters.get("activity_types", []),
            "apps": filters.get("apps", []),
        }
        return cls(data, initial=initial, **kwargs)

    def values(self) -> dict:
        data = self.cleaned_data
        kinds = list(data["data_kinds"])
        filters: dict = {}
        if EventKind.ALERT in kinds:
            filters["min_severity"] = int(data.get("min_severity") or 0)
        if EventKind.ACTIVITIES in kinds:
            filters["activity_types"] = list(data["activity_types"])
            filters["apps"] = list(data["apps"])
        return {
            "name": data["name"],
            "data_kinds": kinds,
            "config": {
                "host": data["host"],
                "port": data["port"],
                "transport": data["transport"],
                "time_format": data["time_format"],
                "include_pri": data["include_pri"],
                "hostname": data["hostname"],
                "ca_pem": data["ca_pem"],
                "reference_compat": data["reference_compat"],
            },
            "filters": filters,
        }


class WebhookForm(_DestinationForm):
    url = forms.CharField(
        label="URL",
        max_length=2000,
        help_text="https only. Each alert is POSTed here as signed JSON.",
        widget=forms.URLInput(attrs={"placeholder": "https://"}),
    )
    min_severity = forms.ChoiceField(
        label="Alerts: severity", choices=_SEVERITIES, initial="0", required=False
    )

    @classmethod
    def for_destination(cls, destination: Destination, data=None, **kwargs) -> WebhookForm:
        initial = {
            "name": destination.name,
            "url": (destination.config or {}).get("url", ""),
            "min_severity": str((destination.filters or {}).get("min_severity", 0)),
        }
        return cls(data, initial=initial, **kwargs)

    def values(self) -> dict:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "data_kinds": [EventKind.ALERT],  # a webhook receives alerts only
            "config": {"url": data["url"]},
            "filters": {"min_severity": int(data.get("min_severity") or 0)},
        }


class DeleteForm(forms.Form):
    confirm = forms.BooleanField(
        label="Yes, delete this integration, its dead letters and its delivery history",
        error_messages={"required": "Tick the box to confirm."},
    )
