"""Console URLs of discovery (ingest; namespace `discovery`)."""

urlpatterns: list = []
