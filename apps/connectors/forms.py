"""Console forms of connected apps. They only translate: `services` checks the rules (base URL
destination, credential shapes) and its refusals come back as field errors."""

from __future__ import annotations

from django import forms

from .adapters import adapter_class


class VendorForm(forms.Form):
    vendor = forms.ChoiceField(label="App")

    def __init__(self, *args, choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["vendor"].choices = choices


class InstanceForm(forms.Form):
    """Name, base URL and the vendor's credential fields. Secret fields are password inputs
    that never render a value back; when editing, leaving one empty keeps the stored secret."""

    name = forms.CharField(max_length=120)
    base_url = forms.CharField(label="Base URL", max_length=300, required=False)

    def __init__(
        self, *args, vendor: str, editing: bool = False, public: dict | None = None, **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.vendor = vendor
        cls = adapter_class(vendor)
        self.credential_names: list[str] = []
        if cls is None:
            return
        self.fields["base_url"].required = cls.base_url_required
        self.fields["base_url"].help_text = cls.base_url_help
        for spec in cls.credential_fields:
            if spec.secret:
                field = forms.CharField(
                    label=spec.label,
                    required=spec.required and not editing,
                    widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
                    help_text=spec.help
                    + (" Leave empty to keep the stored value." if editing else ""),
                    max_length=20000,
                    strip=True,
                )
            else:
                field = forms.CharField(
                    label=spec.label,
                    required=spec.required,
                    help_text=spec.help,
                    max_length=300,
                    initial=(public or {}).get(spec.name, ""),
                )
            self.fields[f"cred_{spec.name}"] = field
            self.credential_names.append(spec.name)

    @property
    def credentials(self) -> dict[str, str]:
        return {
            name: self.cleaned_data.get(f"cred_{name}", "") or "" for name in self.credential_names
        }

    def add_problems(self, problems: dict[str, str]) -> None:
        for name, message in problems.items():
            if name in ("name", "base_url"):
                self.add_error(name, message)
            elif f"cred_{name}" in self.fields:
                self.add_error(f"cred_{name}", message)
            else:
                self.add_error(None, message)
