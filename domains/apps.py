from django.apps import AppConfig


class DomainsConfig(AppConfig):
    name = "domains"
    verbose_name = "DomUs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts import access, quotas, roles
        from domains import quotas as domain_quotas
        from domains import usage
        from domains.clones import logic as clones_logic
        from domains.host_panel import host_domains_context
        from domains.migration.host_section import host_maintenance_context
        from domains.models import Domain, DomainTemplate
        from domains.observe import on_listing_observed
        from domains.pci.listing import host_pci_context
        from hosts.sections import register_section
        from hosts.signals import listing_observed
        from storage import usage as storage_usage
        from storage import users

        access.register_visible(Domain)
        access.register_visible(DomainTemplate)
        quotas.register_usage("memory_mb", domain_quotas.memory_mb)
        quotas.register_usage("vcpus", domain_quotas.vcpus)
        quotas.register_usage("domus", domain_quotas.domus)
        roles.register("domains", owned=("domain", "domainconfigversion", "domaintemplate"))
        users.register("volume", usage.volume_users)
        users.register("iso", usage.iso_users)
        users.register("volume", clones_logic.template_volume_users)
        storage_usage.register_maker(usage.volumes_being_made)
        register_section("domains", "domains/_host_panel.html", host_domains_context, order=10)
        register_section("pci", "domains/_host_pci.html", host_pci_context, order=30)
        register_section(
            "maintenance", "domains/_host_maintenance.html", host_maintenance_context, order=5
        )
        listing_observed.connect(on_listing_observed, dispatch_uid="domains.observe")
