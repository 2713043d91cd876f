"""Console forms of getting logs in: snapshot reports, data sources and custom parsers.

They only translate the posted fields; the rules live in `services` / `services_ingest`, whose
refusals (`DiscoveryRefused`, naming a field) the views put back on the form. Choice fields
that list the tenant's own rows build their queryset when the form is made, inside the
request's tenant scope.
"""

from __future__ import annotations

from django import forms

from .models import CustomParser, Receiver
from .parsers import CUSTOM, format_choices
from .services import MAX_FILES
from .services_ingest import DELIMITERS


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; the count is checked by the form, the content by services
    (an empty file among others is fine, all empty is not)."""

    def clean(self, data, initial=None):
        return list(data or []) if isinstance(data, list | tuple) else ([data] if data else [])


class _FormatFields(forms.Form):
    """The log format select and, for the custom format, which custom parser."""

    log_format = forms.ChoiceField(label="Log format", choices=())
    custom_parser = forms.ModelChoiceField(
        queryset=CustomParser._base_manager.none(),  # replaced per form, in scope
        required=False,
        label="Custom parser",
        help_text="For the custom format only: the definition that reads the file.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["log_format"].choices = format_choices()
        self.fields["custom_parser"].queryset = CustomParser.objects.all()

    def clean(self):
        data = super().clean()
        fmt, parser = data.get("log_format"), data.get("custom_parser")
        if fmt == CUSTOM and parser is None and "custom_parser" not in self.errors:
            self.add_error("custom_parser", "Choose the custom parser that reads these logs.")
        if fmt and fmt != CUSTOM and parser is not None:
            self.add_error("custom_parser", "A custom parser goes with the custom format only.")
        return data


class SnapshotForm(_FormatFields):
    """A snapshot report: up to MAX_FILES files, plain, .gz or .zip."""

    name = forms.CharField(max_length=100)
    description = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    anonymize = forms.BooleanField(
        required=False,
        label="Anonymise usernames",
        help_text="Usernames are replaced by pseudonyms at ingest; the plain names are not stored.",
    )
    files = MultipleFileField(
        required=False,  # counted in clean(): the view hands the list in
        widget=MultipleFileInput(attrs={"multiple": True}),
        label="Log files",
        help_text=f"Up to {MAX_FILES} files; plain text, .gz or .zip.",
    )

    field_order = ["name", "description", "log_format", "custom_parser", "anonymize", "files"]

    def __init__(self, *args, files_list=None, anonymize_default: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.files_list = list(files_list or [])
        self.fields["anonymize"].initial = anonymize_default

    def clean(self):
        data = super().clean()
        if not self.files_list:
            self.add_error("files", "Choose at least one log file.")
        elif len(self.files_list) > MAX_FILES:
            self.add_error("files", f"At most {MAX_FILES} files per upload.")
        return data


class DataSourceForm(_FormatFields):
    """A data source: its format, how logs reach it and whether usernames are anonymised."""

    name = forms.CharField(max_length=100)
    receiver = forms.ChoiceField(
        choices=Receiver.choices,
        help_text="API uploads, or syslog to the log collector on a port of its own.",
    )
    port = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=65535,
        help_text="For syslog: the collector's port this device sends to (e.g. 5514).",
    )
    anonymize = forms.BooleanField(
        required=False,
        label="Anonymise usernames",
        help_text="Applies to uploads from now on; stored data keeps what it was.",
    )

    field_order = ["name", "log_format", "custom_parser", "receiver", "port", "anonymize"]

    @classmethod
    def for_source(cls, source, data=None) -> DataSourceForm:
        return cls(
            data,
            initial={
                "name": source.name,
                "log_format": source.log_format,
                "custom_parser": source.custom_parser_id,
                "receiver": source.receiver,
                "port": source.port,
                "anonymize": source.anonymize,
            },
        )

    def clean(self):
        data = super().clean()
        receiver = data.get("receiver")
        syslog = receiver and receiver != Receiver.API
        if syslog and not data.get("port") and "port" not in self.errors:
            self.add_error("port", "A syslog data source needs a port.")
        return data


class CustomParserForm(forms.Form):
    """A custom parser definition, plus sample lines for "try it" (never stored)."""

    name = forms.CharField(max_length=100)
    delimiter = forms.ChoiceField(
        choices=[(name, name.capitalize()) for name in DELIMITERS], initial="comma"
    )
    has_header = forms.BooleanField(
        required=False,
        initial=True,
        label="First line is a header",
        help_text="Columns are named by the header; without one, by position (1, 2, …).",
    )
    timestamp_column = forms.CharField(max_length=100, label="Date and time column")
    timestamp_format = forms.CharField(
        max_length=100,
        help_text="A strptime format, e.g. %Y-%m-%d %H:%M:%S or %d/%b/%Y:%H:%M:%S %z; or "
        "epoch / epoch_ms for Unix time.",
    )
    src_ip_column = forms.CharField(max_length=100, label="Source IP column")
    user_column = forms.CharField(max_length=100, required=False, label="User column")
    host_column = forms.CharField(
        max_length=100, required=False, label="Destination host or URL column"
    )
    dst_ip_column = forms.CharField(max_length=100, required=False, label="Destination IP column")
    bytes_up_column = forms.CharField(max_length=100, required=False, label="Bytes up column")
    bytes_down_column = forms.CharField(max_length=100, required=False, label="Bytes down column")
    bytes_total_column = forms.CharField(max_length=100, required=False, label="Total bytes column")
    action_column = forms.CharField(max_length=100, required=False)
    blocked_term = forms.CharField(
        max_length=100,
        required=False,
        help_text="The action column's value for a blocked request (e.g. DENY).",
    )
    sample = forms.CharField(
        required=False,
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 5, "spellcheck": "false"}),
        label="Sample lines",
        help_text="Try it: paste a few lines (with the header if the log has one) and press "
        "Try; nothing is stored.",
    )

    @classmethod
    def for_parser(cls, parser: CustomParser, data=None) -> CustomParserForm:
        reverse = {char: name for name, char in DELIMITERS.items()}
        initial = {key: getattr(parser, key) for key in cls.base_fields if key not in ("sample",)}
        initial["delimiter"] = reverse.get(parser.delimiter, "comma")
        return cls(data, initial=initial)

    def definition_data(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if k != "sample"}
