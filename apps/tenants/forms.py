"""Console forms of the tenants app."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q

from .models import Role, Tenant

User = get_user_model()


class TenantGeneralForm(forms.ModelForm):
    class Meta:
        model = Tenant
        fields = ["name"]


class AddMemberForm(forms.Form):
    user = forms.CharField(
        label="Username or email", max_length=254, help_text="An existing portal account."
    )
    role = forms.ChoiceField(choices=Role.choices)

    def clean_user(self):
        value = self.cleaned_data["user"].strip()
        matches = list(User.objects.filter(Q(username__iexact=value) | Q(email__iexact=value))[:2])
        if len(matches) != 1:
            raise forms.ValidationError("No single portal account has this username or email.")
        if not matches[0].is_active:
            raise forms.ValidationError("This account is disabled.")
        return matches[0]


class ChangeRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)
