"""Console URLs of the privacy and data lifecycle pages (mounted under settings/privacy/).

One module per page group, merged here under the one `compliance` namespace.
"""

from . import urls_location, urls_offboarding, urls_retention, urls_scope, urls_subjects

app_name = "compliance"
urlpatterns = [
    *urls_retention.urlpatterns,
    *urls_subjects.urlpatterns,
    *urls_scope.urlpatterns,
    *urls_location.urlpatterns,
    *urls_offboarding.urlpatterns,
]
