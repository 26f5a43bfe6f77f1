from django.urls import path

from hosts.views import isos

app_name = "isos"
urlpatterns = [path("", isos.iso_list, name="list")]
