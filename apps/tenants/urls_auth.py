"""Sign-in, sign-out, the second factor and account security (mounted under /accounts/)."""

from django.urls import path

from .views import auth

urlpatterns = [
    path("login/", auth.SignInView.as_view(), name="login"),
    path("logout/", auth.sign_out, name="logout"),
    path("mfa/verify/", auth.MfaVerifyView.as_view(), name="mfa-verify"),
    path("mfa/enrol/", auth.MfaEnrolView.as_view(), name="mfa-enrol"),
    path("security/", auth.AccountSecurityView.as_view(), name="account-security"),
]
