"""Settings > API tokens: list, create (key shown once), revoke. Thin: rules are in
`token_services`."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from .. import token_services
from ..permissions import Action
from ..token_forms import CreateTokenForm
from .base import TenantTemplateView, TenantView


class TokensView(TenantTemplateView):
    """Every member sees the tenant's tokens; creating one needs Action.MANAGE_TOKENS."""

    template_name = "tenants/tokens.html"
    section = "settings"
    write_action = Action.MANAGE_TOKENS

    def _form(self, data=None) -> CreateTokenForm:
        roles = token_services.grantable_roles(self.request.user, self.tenant)
        return CreateTokenForm(data, roles=roles)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        now = timezone.now()
        user = self.request.user
        context["rows"] = [
            {
                "token": token,
                "status": token_services.token_status(token, now),
                "can_revoke": token.revoked_at is None and token_services.may_revoke(user, token),
            }
            for token in token_services.tokens_of(self.tenant)
        ]
        if self.may(Action.MANAGE_TOKENS):
            context.setdefault("form", self._form())
        return context

    def post(self, request, *args, **kwargs):
        form = self._form(request.POST)
        if form.is_valid():
            try:
                created = token_services.create_token(
                    tenant=self.tenant,
                    creator=request.user,
                    name=form.cleaned_data["name"],
                    role=form.cleaned_data["role"],
                    expires_at=form.expires_at,
                    request=request,
                )
            except token_services.TokenRefused as exc:
                form.add_error(None, str(exc))
            else:
                # Rendered, not redirected: the key must not travel through the session or a
                # URL. NoStoreMiddleware keeps the page out of every cache.
                return render(
                    request,
                    "tenants/tokens_created.html",
                    {"token": created.token, "key": created.key, "section": "settings"},
                    status=201,
                )
        return self.render_to_response(self.get_context_data(form=form), status=400)


class TokenRevokeView(TenantView):
    """POST-only: revoke one token of this tenant (own tokens; global admins any)."""

    http_method_names = ["post"]
    write_action = Action.MANAGE_TOKENS

    def post(self, request, *args, token_id, **kwargs):
        token = get_object_or_404(token_services.tokens_of(self.tenant), pk=token_id)
        try:
            token_services.revoke_token(token=token, actor=request.user, request=request)
        except token_services.TokenRefused as exc:
            raise PermissionDenied(str(exc)) from exc
        messages.success(request, f"Token “{token.name}” revoked.")
        return redirect("tenants:tokens", self.tenant.slug)
