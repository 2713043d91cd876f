"""Console URLs of discovery (manage; namespace `discovery`)."""

urlpatterns: list = []
