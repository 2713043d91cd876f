"""Sign-in, sign-out and MFA (placeholder until built)."""

from django.contrib.auth import views as auth_views
from django.urls import path

from .views.console import not_found

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="tenants/auth/login.html"),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("mfa/verify/", not_found, name="mfa-verify"),
    path("mfa/enrol/", not_found, name="mfa-enrol"),
    path("security/", not_found, name="account-security"),
]
