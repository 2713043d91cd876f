"""Console URLs of the privacy pages: Scoped deployment and privacy."""

from django.urls import path

from .views_scope import PrivacyGroupsView, ScopeRuleDeleteView, ScopeRuleEditView, ScopeView

urlpatterns = [
    path("scope/", ScopeView.as_view(), name="scope"),
    path("scope/rules/<uuid:rule_id>/", ScopeRuleEditView.as_view(), name="scope-rule"),
    path(
        "scope/rules/<uuid:rule_id>/delete/",
        ScopeRuleDeleteView.as_view(),
        name="scope-rule-delete",
    ),
    path("scope/privacy/", PrivacyGroupsView.as_view(), name="scope-privacy"),
]
