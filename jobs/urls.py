from django.urls import path

from jobs import views as jobs

app_name = "jobs"
urlpatterns = [
    path("", jobs.job_list, name="list"),
    path("check/", jobs.system_check, name="system_check"),
    path("<uuid:code>/", jobs.job_detail, name="detail"),
    path("<uuid:code>/progress/", jobs.job_progress, name="progress"),
    path("<uuid:code>/cancel/", jobs.job_cancel, name="cancel"),
]
