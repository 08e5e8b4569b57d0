# ruff: noqa: RUF012 - the shape Django gives migrations
"""The dashboard's roles, as Django groups with permissions.

- Viewer: sees the live pages (what a SupervisorScope allows) and may look at the mirrored
  structure, alerts and history in the admin, read-only.
- Supervisor: sees the same, and acts (dashboard.actions): changes an agent's status, suspends,
  records, writes call notes and dispositions.
- Admin: every permission of the dashboard app, admin editing and the audit log included.

Superusers need no group: they have every permission. What a user sees is still limited by
their SupervisorScope (dashboard.mbu.visibility_for); a role only says what they may do there.

The permission lists are written out here, not imported, so that this migration keeps doing
what it did when later code changes.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.management import create_permissions
from django.db import migrations

VIEW = [
    "view_agent",
    "view_queue",
    "view_team",
    "view_group",
    "view_businessunit",
    "view_alert",
    "view_statusperiod",
    "view_queuesample",
]
ACT = ["change_agent_status", "suspend_agent", "record_agent", "annotate_session"]
ROLES = ("Viewer", "Supervisor", "Admin")


def create_roles(apps: Any, schema_editor: Any) -> None:
    # Permissions are only created by the post_migrate signal, after every migration has run:
    # on a fresh database they do not exist yet at this point, so create them now (the
    # documented pattern; models_module must look set for create_permissions to act).
    app_config = apps.get_app_config("dashboard")
    app_config.models_module = getattr(app_config, "models_module", None) or True
    create_permissions(app_config, verbosity=0, apps=apps)

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    dashboard = Permission.objects.filter(content_type__app_label="dashboard")

    def granted(codenames: list[str]) -> list[Any]:
        found = list(dashboard.filter(codename__in=codenames))
        missing = set(codenames) - {p.codename for p in found}
        if missing:
            raise RuntimeError(f"dashboard permissions missing: {sorted(missing)}")
        return found

    wanted = {
        "Viewer": granted(VIEW),
        "Supervisor": granted(VIEW + ACT),
        "Admin": list(dashboard),
    }
    for name, permissions in wanted.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(permissions)


def remove_roles(apps: Any, schema_editor: Any) -> None:
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("dashboard", "0003_audit_and_action_permissions"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
