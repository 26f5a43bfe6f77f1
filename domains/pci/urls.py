"""URLs of this concern, added to the `domains` namespace by domains/urls.py."""

from django.urls import URLPattern, path

from domains.pci import views

urlpatterns: list[URLPattern] = [
    path("host/<uuid:code>/pci/", views.host_pci_panel, name="pci_host_panel"),
    path("host/<uuid:code>/pci/read/", views.pci_read, name="pci_read"),
    path("host/<uuid:code>/pci/assignable/", views.pci_assignable, name="pci_assignable"),
    path("<uuid:code>/pci/attach/", views.pci_attach, name="pci_attach"),
    path("<uuid:code>/pci/detach/", views.pci_detach, name="pci_detach"),
]
