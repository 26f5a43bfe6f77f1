"""Audit list URLs, mounted at /audit/."""

from django.urls import path

from accounts import views as audit

app_name = "audit"
urlpatterns = [path("", audit.audit_list, name="list")]
