"""Volume URLs (the storage work fills these in)."""

app_name = "storage"
urlpatterns: list = []
