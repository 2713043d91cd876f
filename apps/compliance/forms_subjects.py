"""Forms of the data-subject request page: who and why, then (erase) the confirmation."""

from __future__ import annotations

from django import forms

SUBJECT_HELP = (
    "The person's identity (email or UPN), or one of their accounts' username, email or "
    "external id."
)
REFERENCE_HELP = (
    "Your ticket number or the reason (kept with the request). Do not write the person's name here."
)


class SubjectRequestForm(forms.Form):
    """Export or erase (the erase goes through a confirmation first)."""

    subject = forms.CharField(label="Person", max_length=254, help_text=SUBJECT_HELP)
    reference = forms.CharField(label="Reference", max_length=200, help_text=REFERENCE_HELP)
    kind = forms.ChoiceField(
        label="Request",
        choices=[("export", "Export everything we hold about them"), ("erase", "Erase them")],
        widget=forms.RadioSelect,
        initial="export",
    )

    def clean_subject(self) -> str:
        value = self.cleaned_data["subject"].replace("\x00", "").strip()
        if not value:
            raise forms.ValidationError("Enter the person's identity, email or username.")
        return value

    def clean_reference(self) -> str:
        value = self.cleaned_data["reference"].replace("\x00", "").strip()
        if not value:
            raise forms.ValidationError("Enter a ticket number or reason.")
        return value


class EraseConfirmForm(SubjectRequestForm):
    """The erase, confirmed after the page named what will be removed."""

    kind = None
    confirm = forms.BooleanField(
        label="I understand this removes everything listed above and cannot be undone.",
        required=True,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("subject", "reference"):
            self.fields[name].widget = forms.HiddenInput()


class CheckForm(forms.Form):
    """ "Was this person's data exported or erased?": found by digest, nothing stored in clear."""

    check = forms.CharField(
        label="Person", max_length=254, help_text="Their identity (email or UPN)."
    )
