from django.urls import path

from domains.console import views

app_name = "console"
urlpatterns = [
    path("<uuid:code>/", views.console_page, name="page"),
    path("<uuid:code>/ticket/", views.console_ticket, name="ticket"),
]
